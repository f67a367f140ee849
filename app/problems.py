"""One mapping from errors to ``application/problem+json`` (RFC 9457), for the whole API.

- the domain's error tree (:class:`curation.errors.CurationError`): its status, title, detail;
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

from curation.errors import CurationError

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)


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


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
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
        return problem(exc.status, exc.title, exc.detail, getattr(exc, "headers", None))

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
