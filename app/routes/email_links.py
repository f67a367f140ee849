"""The links in digest e-mails: feedback, save for later, share with my team and unsubscribe
(RFC 8058 one-click), no login.

A thin shell over :mod:`curation.mail.links`: the signed token is the only credential. A GET
(or HEAD) of a link only checks it and shows a confirmation page whose button POSTs the token
back (a form field); the POST acts. Mail scanners that follow links therefore change nothing.
The unsubscribe URL also takes the ``List-Unsubscribe-Post`` one-click POST, token in the query.
Answers are small HTML pages with no outside assets, errors included (a person clicked a link
in an e-mail; a JSON problem would not help them). The item links (``/v1/email/open``) are the
one exception: a redirect to the item that counts an open, with the scanner rules of
:mod:`curation.mail.opens`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from app.deps import DomainDep
from app.problems import headers_of, status_of
from curation.clock import utcnow
from curation.errors import CurationError, Unavailable
from curation.mail.links import (
    SAVE_ACTIONS,
    EmailLinks,
    confirm_feedback_page,
    confirm_unsubscribe_page,
    error_page,
    share_form_page,
    shared_page,
    thanks_page,
    unsubscribed_page,
)
from curation.mail.opens import OpenLinks
from curation.mail.tokens import load_secret

router = APIRouter(prefix="/v1/email", tags=["email"])

# the token is a credential: keep it out of caches and out of Referer headers; the pages load
# nothing from anywhere, post only to us and may not be framed (no click-jacking of the button)
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}
_MAX_TOKEN_FORM = 8192  # bytes of form body read for a token (tokens are ~100)
T = TypeVar("T")


def email_links(request: Request, domain: DomainDep) -> EmailLinks:
    """Built on first use from the app's domain and its link-signing key, then reused."""
    links = getattr(request.app.state, "email_links", None)
    if links is None or links.people is not domain.people:
        links = EmailLinks(
            domain.people, load_secret(domain.settings), domain.items, teams=domain.teams
        )
        request.app.state.email_links = links
    return links


Links = Annotated[EmailLinks, Depends(email_links)]


def _html(page: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers={**_HEADERS, **(headers or {})})


def _error(exc: CurationError) -> HTMLResponse:
    status, title = status_of(exc)
    if 400 <= status < 500:
        return _html(error_page(title, exc.detail), status)
    if isinstance(exc, Unavailable):  # busy, or not upgraded yet: the link will work later
        page = error_page(title, "Please try again in a moment: nothing was changed.")
        return _html(page, 503, headers_of(exc, 503))
    return _html(error_page(title, None), 500)


def _answer(act: Callable[[], T], page: Callable[[T], str]) -> HTMLResponse:
    """The page ``page`` makes of what ``act`` did, or the error page of what either raised."""
    try:
        return _html(page(act()))
    except CurationError as exc:
        return _error(exc)


async def _posted_token(request: Request, token: str) -> str:
    """The token of a POST: the form field ``token`` (the confirmation page), else the query's
    (the one-click POST to the List-Unsubscribe URL)."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await request.body()
        if len(body) <= _MAX_TOKEN_FORM:
            posted = parse_qs(body.decode("latin-1")).get("token")
            if posted:
                return posted[0]
    return token


# GET and HEAD as two routes, not one with two methods: OpenAPI would give both the same id
@router.head("/feedback", response_class=HTMLResponse, operation_id="check_feedback_link")
@router.get("/feedback", response_class=HTMLResponse)
def confirm_feedback(links: Links, token: str = "") -> HTMLResponse:
    """Checks the link and asks for a click on a button; records nothing."""
    return _answer(
        lambda: links.check_feedback(token, now=utcnow()),
        lambda claim: confirm_feedback_page(token, claim),
    )


@router.post("/feedback", response_class=HTMLResponse)
async def feedback(request: Request, links: Links, token: str = "") -> HTMLResponse:
    """Records the reaction (the button of the confirmation page: the token is a form field)."""
    token = await _posted_token(request, token)
    return await run_in_threadpool(
        _answer, lambda: links.feedback(token, now=utcnow()), thanks_page
    )


# "Save for later": the same confirm-then-POST as feedback, recording the saved signal
@router.head("/save", response_class=HTMLResponse, operation_id="check_save_link")
@router.get("/save", response_class=HTMLResponse)
def confirm_save(links: Links, token: str = "") -> HTMLResponse:
    """Checks the link and asks for a click on a button; saves nothing."""
    return _answer(
        lambda: links.check_feedback(token, now=utcnow(), actions=SAVE_ACTIONS),
        lambda claim: confirm_feedback_page(token, claim),
    )


@router.post("/save", response_class=HTMLResponse)
async def save(request: Request, links: Links, token: str = "") -> HTMLResponse:
    """Saves the item for later (the button of the confirmation page); saving twice keeps
    one saved item."""
    token = await _posted_token(request, token)
    return await run_in_threadpool(
        _answer, lambda: links.feedback(token, now=utcnow(), actions=SAVE_ACTIONS), thanks_page
    )


@router.get("/unsubscribe", response_class=HTMLResponse)
def confirm_unsubscribe(links: Links, token: str = "") -> HTMLResponse:
    """Checks the link and asks for a click on a button; changes nothing."""
    return _answer(
        lambda: links.check_unsubscribe(token, now=utcnow()),
        lambda _claim: confirm_unsubscribe_page(token),
    )


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, links: Links, token: str = "") -> HTMLResponse:
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``, token in the query), or the
    confirmation page's button (token in the form)."""
    token = await _posted_token(request, token)
    return await run_in_threadpool(
        _answer, lambda: links.unsubscribe(token, now=utcnow()), lambda _: unsubscribed_page()
    )


# ---- "Share with my team": GET shows the form (team, note), its POST shares -----------------


@router.head("/share", response_class=HTMLResponse, operation_id="check_share_link")
@router.get("/share", response_class=HTMLResponse)
def share_form(links: Links, token: str = "") -> HTMLResponse:
    """Checks the link and shows a form with the person's teams and a note; shares nothing."""
    return _answer(
        lambda: links.check_share(token, now=utcnow()),
        lambda form: share_form_page(token, form),
    )


@router.post("/share", response_class=HTMLResponse)
async def share(request: Request, links: Links) -> HTMLResponse:
    """Shares the item with the chosen team (the form's button: token, team_id, note)."""
    fields: dict[str, list[str]] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await request.body()
        if len(body) <= _MAX_TOKEN_FORM:
            fields = parse_qs(body.decode("ascii", errors="replace"), encoding="utf-8")
    token = (fields.get("token") or [""])[0]
    team_id = (fields.get("team_id") or [None])[0]
    note = (fields.get("note") or [None])[0]
    return await run_in_threadpool(
        _answer,
        lambda: links.share(token, team_id=team_id, note=note, now=utcnow()),
        shared_page,
    )


# ---- item links: a redirect that counts one open per person and item (curation/mail/opens.py) --


def open_links(request: Request, domain: DomainDep) -> OpenLinks:
    """Built on first use from the app's domain and its link-signing key, then reused."""
    links = getattr(request.app.state, "open_links", None)
    if links is None or links.opens is not domain.opens:
        links = OpenLinks(
            domain.opens,
            domain.people,
            load_secret(domain.settings),
            grace_seconds=domain.settings.email_open_grace_seconds,
        )
        request.app.state.open_links = links
    return links


Opens = Annotated[OpenLinks, Depends(open_links)]


def _redirect(request: Request, opens: OpenLinks, token: str) -> Response:
    try:
        target, _counted = opens.follow(token, now=utcnow(), count=request.method == "GET")
    except CurationError as exc:
        return _error(exc)
    # no-referrer: the item's site must not see the token in a Referer header
    return RedirectResponse(target, status_code=302, headers=_HEADERS)


@router.head(
    "/open", response_class=RedirectResponse, operation_id="check_open_link", response_model=None
)
@router.get("/open", response_class=RedirectResponse, status_code=302, response_model=None)
def open_item(request: Request, opens: Opens, token: str = "") -> Response:
    """Redirects to the item's stored web address. Counts one open per person and item when a
    person (not a mail scanner) follows it: GET only, and not within
    ``CURATION_EMAIL_OPEN_GRACE_SECONDS`` of the e-mail being sent."""
    return _redirect(request, opens, token)
