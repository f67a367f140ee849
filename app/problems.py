"""One mapping from errors to ``application/problem+json`` (RFC 9457), for the whole API.

- the domain's error tree (:class:`curation.errors.CurationError`): a status and a title per
  class (:data:`STATUS`, the nearest class wins), and the error's own detail;
- request validation: 422 naming each invalid field (``body.interests.0.weight``…);
- routing errors (unknown path 404, wrong method 405);
- anything unexpected: a 500 that says nothing about internals (the traceback is logged).

The ASGI middlewares answer through :func:`send_problem`, so even a refused body looks the same.
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
    Unauthenticated,
)
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


def _body(status: int, title: str, detail: str, **extra: object) -> dict[str, object]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


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
        headers=headers,
    )


async def send_problem(send: Send, status: int, detail: str) -> None:
    """Answer a raw ASGI request with a problem document (for middlewares)."""
    body = json.dumps(_body(status, _phrase(status), detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
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
        return problem(status, title, exc.detail, _HEADERS.get(status))

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
        return problem(500, "Internal error", "the server failed to answer; the error is logged")
