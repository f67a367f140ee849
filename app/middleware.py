"""Pure ASGI middlewares: request-body limits and request metrics.

:class:`BodyLimit` refuses a body over its limit with 413 before the app sees it: at once when
``Content-Length`` says so, and while streaming when a body without one (chunked) grows past the
limit. The app is then told the client went away and anything it tries to send is dropped.

:class:`RequestMetrics` counts every request by method, route *template* (never the raw path,
so ids do not explode the label set) and status, and times it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.problems import send_problem
from curation.metrics import ServiceMetrics


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
