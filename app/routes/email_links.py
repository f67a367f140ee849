"""The links in digest e-mails: one-click feedback and unsubscribe (RFC 8058), no login.

A thin shell over :mod:`curation.mail.links`: the signed token in the query string is the only
credential. Answers are small HTML pages, errors included (a person clicked a link in an
e-mail; a JSON problem would not help them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.deps import DomainDep
from app.problems import status_of
from curation.clock import utcnow
from curation.errors import CurationError
from curation.mail.links import (
    EmailLinks,
    confirm_unsubscribe_page,
    error_page,
    thanks_page,
    unsubscribed_page,
)
from curation.mail.tokens import load_secret

router = APIRouter(prefix="/v1/email", tags=["email"])

# the token is a credential: keep it out of caches and out of Referer headers
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
T = TypeVar("T")


def email_links(request: Request, domain: DomainDep) -> EmailLinks:
    """Built on first use from the app's domain and its link-signing key, then reused."""
    links = getattr(request.app.state, "email_links", None)
    if links is None or links.people is not domain.people:
        links = EmailLinks(domain.people, load_secret(domain.settings))
        request.app.state.email_links = links
    return links


Links = Annotated[EmailLinks, Depends(email_links)]


def _html(page: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


def _error(exc: CurationError) -> HTMLResponse:
    status, title = status_of(exc)
    if not 400 <= status < 500:
        return _html(error_page(title, None), 500)
    return _html(error_page(title, exc.detail), status)


def _answer(act: Callable[[], T], page: Callable[[T], str]) -> HTMLResponse:
    """The page ``page`` makes of what ``act`` did, or the error page of what either raised."""
    try:
        return _html(page(act()))
    except CurationError as exc:
        return _error(exc)


# two routes, not one with two methods: OpenAPI would give both methods the same operation id
@router.head("/feedback", response_class=HTMLResponse, operation_id="check_feedback_link")
@router.get("/feedback", response_class=HTMLResponse)
def feedback(request: Request, links: Links, token: str = "") -> HTMLResponse:
    """Records the click; a HEAD (a link checker, not a person) only checks the token."""
    record = request.method != "HEAD"
    return _answer(lambda: links.feedback(token, now=utcnow(), record=record), thanks_page)


@router.get("/unsubscribe", response_class=HTMLResponse)
def confirm_unsubscribe(links: Links, token: str = "") -> HTMLResponse:
    return _answer(
        lambda: links.check_unsubscribe(token, now=utcnow()),
        lambda _claim: confirm_unsubscribe_page(token),
    )


@router.post("/unsubscribe", response_class=HTMLResponse)
def unsubscribe(links: Links, token: str = "") -> HTMLResponse:
    """RFC 8058 one-click: the body is ``List-Unsubscribe=One-Click``; the token decides."""
    return _answer(lambda: links.unsubscribe(token, now=utcnow()), lambda _: unsubscribed_page())
