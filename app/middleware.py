"""Pure ASGI middlewares: request ids, the per-address rate limit, body limits, metrics.

:class:`RequestId` gives every request an id: the client's ``X-Request-ID`` when it is sane
(1-128 characters of ``A-Z a-z 0-9 . _ : + / = -``), else a new one. It is sent back on every
response, put in every problem document and on every log line of the request
(:func:`curation.logs.set_request_id`).

:class:`AddressRateLimit` applies ``CURATION_RATE_LIMIT_PER_ADDRESS`` (:mod:`app.ratelimits`)
before anything else is done for the request.

:class:`BodyLimit` refuses a body over its limit with 413 before the app sees it: at once when
``Content-Length`` says so, and while streaming when a body without one (chunked) grows past the
limit. The app is then told the client went away and anything it tries to send is dropped.

:class:`RequestMetrics` counts every request by method, route *template* (never the raw path,
so ids do not explode the label set) and status, and times it.

:class:`AfterWrites` calls a function when a request that may have changed something (any
method but GET, HEAD and OPTIONS) is finished, so this process's caches of live answers are
renewed at once (changes made by other processes are seen within their bounds).
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.problems import send_problem
from app.ratelimits import EXEMPT_PATHS, RateLimits, client_address
from curation.errors import RateLimited
from curation.logs import set_request_id
from curation.metrics import ServiceMetrics

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-ID`` if it is sane, else a new random id."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            if _SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        # not reset afterwards: each request runs in a context of its own, and the 500 handler
        # (outside every middleware) still needs it
        set_request_id(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class AddressRateLimit:
    def __init__(self, app: ASGIApp, *, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in EXEMPT_PATHS:
            try:
                self.limits.address(client_address(scope))
            except RateLimited as exc:
                retry = str(exc.retry_after)
                await send_problem(send, 429, exc.detail, headers={"Retry-After": retry})
                return
        await self.app(scope, receive, send)


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, *, default: int, per_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared == -1:
            await send_problem(send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            await send_problem(send, 413, _too_large(limit))
            return

        received = 0
        refused = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # whatever the app answers after a refused body is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_TooLarge):  # raised from limited_receive, already handled
            await self.app(scope, limited_receive, guarded_send)
        if refused and not started:
            await send_problem(send, 413, _too_large(limit))


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when absent, -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


class RequestMetrics:
    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(
                scope["method"], route, status, time.perf_counter() - started
            )


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AfterWrites:
    def __init__(self, app: ASGIApp, *, changed: Callable[[], None]) -> None:
        self.app = app
        self.changed = changed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:  # committed (or not) by now: the next live request reads afresh
            self.changed()
