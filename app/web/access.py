"""Who may see a page, and what a page shows when something goes wrong.

The roles are the API's (learner < curator < admin, :data:`app.deps.RANK`):

- no session (or one that expired, was signed out of, or whose person was deleted): a page
  that needs someone signed in redirects to ``/`` (the sign-in page);
- a role below what the page needs: **403**, a page saying so, decided before any id is read;
- a form posted without this session's CSRF token: **403**, nothing changed.

:class:`WebRoute` is the route class of every page router: a domain error raised by a page
(an unknown id, a refused input) becomes an HTML page with the API's status for that error
(:func:`app.problems.status_of`), never a JSON problem.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.responses import Response

from app.deps import RANK, get_domain
from app.problems import headers_of, status_of
from app.web import render, session
from curation.errors import CurationError
from curation.people.records import PersonRecord

log = logging.getLogger(__name__)
T = TypeVar("T")


class PageRefused(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class SignInNeeded(Exception):
    pass


def error_page(request: Request, status: int, title: str, detail: str | None) -> Response:
    return render.page(request, "error.html", status=status, title=title, detail=detail)


class WebRoute(APIRoute):
    """Turns what a page raises into an HTML answer (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return render.redirect("/")
            except PageRefused as exc:
                return error_page(request, exc.status, exc.title, exc.detail)
            except RequestValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) for e in exc.errors())
                return error_page(request, 422, "Invalid input", f"check: {fields}")
            except CurationError as exc:
                status, title = status_of(exc)
                detail = exc.detail if status < 500 else None
                response = error_page(request, status, title, detail)
                for name, value in (headers_of(exc, status) or {}).items():
                    if name != "WWW-Authenticate":  # pages are not signed in to with Bearer
                        response.headers[name] = value
                return response

        return answer


async def signed_in(request: Request) -> PersonRecord | None:
    """The person of this browser's session, or None (and ``request.state.web_person``).
    Without a session the database is not asked (the front door works while it is down)."""
    request.state.web_person = None
    if not session.has_session(request):
        return None
    domain = await get_domain(request)
    service = session.sign_in_service(request, domain)
    person = await session.session_person(request, service)
    request.state.web_person = person
    return person


Viewer = Annotated[PersonRecord | None, Depends(signed_in)]


def page_role(role: str) -> Callable[..., Coroutine[Any, Any, PersonRecord]]:
    needed = RANK[role]

    async def check(request: Request) -> PersonRecord:
        # :func:`signed_in` called, not depended on: one dependency less to solve a page
        person = await signed_in(request)
        if person is None:
            raise SignInNeeded
        if RANK.get(person.role, -1) < needed:
            raise PageRefused(
                403, "Forbidden", f"this page needs the {role} role (you are a {person.role})"
            )
        return person

    return check


LearnerPage = Annotated[PersonRecord, Depends(page_role("learner"))]
CuratorPage = Annotated[PersonRecord, Depends(page_role("curator"))]
AdminPage = Annotated[PersonRecord, Depends(page_role("admin"))]


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is this session's (else a 403 page)."""
    form = await request.form()
    if not session.csrf_ok(request, form.get(session.CSRF_FIELD)):
        log.warning("form posted to %s without this session's CSRF token", request.url.path)
        raise PageRefused(
            403,
            "Forbidden",
            "this form is out of date or was not sent from this site: reload the page and try"
            " again",
        )
    return form


Form = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def attempt(request: Request, act: Callable[[], T], done: str | Callable[[T], str]) -> bool:
    """Run a form's action; flash ``done`` (or what it makes of the result) or the domain's
    reason for refusing. True when it worked; errors of the service itself (5xx) propagate."""
    try:
        result = act()
    except CurationError as exc:
        status, _ = status_of(exc)
        if status >= 500:
            raise
        session.flash(request, exc.detail, "error")
        return False
    session.flash(request, done(result) if callable(done) else done)
    return True
