"""One mapping from errors to ``application/problem+json`` (RFC 9457), for the whole API.

- the domain's error tree (:class:`curation.errors.CurationError`): a status and a title per
  class (:data:`STATUS`, the nearest class wins), and the error's own detail;
- request validation: 422 naming each invalid field (``body.interests.0.weight``…);
- routing errors (unknown path 404, wrong method 405);
- anything unexpected: a 500 that says nothing about internals (the traceback is logged).

The ASGI middlewares answer through :func:`send_problem`, so even a refused body looks the same.
Every problem carries the request's id (``request_id``, also sent as ``X-Request-ID``), so a
500 can be found in the logs. A 503 (database busy, schema not current) and a 429 (rate limit)
say when to try again in ``Retry-After``.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Send

from curation.errors import (
    AddressRefused,
    Conflict,
    CurationError,
    FeedCheckFailed,
    FetchError,
    Forbidden,
    InvalidInput,
    NotFound,
    OPMLError,
    ParseError,
    RateLimited,
    SchemaNotCurrent,
    StoreBusy,
    Unauthenticated,
    Unavailable,
)
from curation.logs import current_request_id
from curation.mail.errors import DeliveryFailed, ExpiredLink, InvalidLink

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)

#: status and title of each domain error class; an error takes its nearest class's entry
STATUS: dict[type[CurationError], tuple[int, str]] = {
    CurationError: (500, "Internal error"),
    Unauthenticated: (401, "Unauthorized"),
    Forbidden: (403, "Forbidden"),
    InvalidInput: (422, "Invalid input"),
    OPMLError: (422, "Invalid OPML"),
    FeedCheckFailed: (422, "Not a usable feed"),
    InvalidLink: (400, "Invalid link"),
    ExpiredLink: (400, "Expired link"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    FetchError: (502, "Fetch failed"),
    AddressRefused: (422, "Address refused"),
    ParseError: (422, "Not a feed"),
    DeliveryFailed: (502, "Delivery failed"),
    RateLimited: (429, "Too many requests"),
    Unavailable: (503, "Service unavailable"),
    StoreBusy: (503, "Database busy"),
    SchemaNotCurrent: (503, "Database schema not current"),
}
#: extra headers per status
_HEADERS = {401: {"WWW-Authenticate": "Bearer"}}


def status_of(exc: CurationError) -> tuple[int, str]:
    """The HTTP status and title for a domain error."""
    for cls in type(exc).__mro__:
        found = STATUS.get(cls)
        if found is not None:
            return found
    return STATUS[CurationError]


def headers_of(exc: CurationError, status: int) -> dict[str, str] | None:
    """Extra headers for a domain error: ``WWW-Authenticate`` on 401, ``Retry-After`` when the
    error says when to try again."""
    headers = dict(_HEADERS.get(status, {}))
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return headers or None


def _body(status: int, title: str, detail: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return body


def _with_request_id(headers: dict[str, str] | None) -> dict[str, str] | None:
    """The 500 handler answers outside the middlewares: it sends the id itself."""
    request_id = current_request_id()
    if request_id is None:
        return headers
    return {**(headers or {}), "X-Request-ID": request_id}


def problem(
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    return JSONResponse(
        _body(status, title, detail, **extra),
        status_code=status,
        media_type=PROBLEM,
        headers=_with_request_id(headers),
    )


async def send_problem(
    send: Send, status: int, detail: str, *, headers: dict[str, str] | None = None
) -> None:
    """Answer a raw ASGI request with a problem document (for middlewares)."""
    body = json.dumps(_body(status, _phrase(status), detail)).encode()
    raw = [
        (b"content-type", PROBLEM.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# what each request pattern means, in words (a client should never read a regex)
_PATTERN_WORDS = {
    r"\S": "must not be blank",
    r"^\d{4}-\d{2}-\d{2}$": "must be a date written YYYY-MM-DD",
    r"^[^@\s]+@[^@\s]+$": "must be an e-mail address like name@example.org",
}


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "string_pattern_mismatch":  # say what, not the regex
            pattern = (error.get("ctx") or {}).get("pattern", "")
            message = _PATTERN_WORDS.get(pattern, "does not have the expected form")
        if error.get("type") == "json_invalid":
            position = loc[1] if len(loc) > 1 else "?"
            reason = (error.get("ctx") or {}).get("error", "")
            loc, message = ("body",), f"invalid JSON at character {position}: {reason}".strip()
        errors.append({"field": _field(loc) or "request", "message": message})
    return errors


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this path (Starlette's Allow names one route's)."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install(app: FastAPI) -> None:
    @app.exception_handler(CurationError)
    async def _domain(_: Request, exc: CurationError) -> JSONResponse:
        status, title = status_of(exc)
        return problem(status, title, exc.detail, headers_of(exc, status))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        title = _phrase(exc.status_code)
        detail = str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and detail == title:
            detail = f"no such path: {request.url.path}"
        elif exc.status_code == 405:
            allowed = ", ".join(_allowed_methods(request))
            headers["Allow"] = allowed
            detail = f"{request.method} is not allowed on {request.url.path} (allowed: {allowed})"
        return problem(exc.status_code, title, detail, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(
            500,
            "Internal error",
            "the server failed to answer; the error is logged under this request_id",
        )
