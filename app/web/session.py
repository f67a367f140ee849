"""The web session: a signed cookie naming a server-side session, and the CSRF token of every
state-changing form.

**Cookie.** Starlette's ``SessionMiddleware`` (itsdangerous): a small JSON object in a cookie
signed with a key derived from ``CURATION_SECRET_KEY`` (or its key file), ``HttpOnly``,
``SameSite=Lax``, ``Secure`` when ``CURATION_PUBLIC_BASE_URL`` is ``https``, kept by the browser
for ``CURATION_WEB_SESSION_HOURS``. Once signed in it holds a random session token; the session
itself is a row (:class:`curation.people.signin.SignIn`: only the token's hash is stored) that
ends at sign-out or ``CURATION_WEB_SESSION_HOURS`` after sign-in, whichever comes first, and
goes with its person. So signing out ends the session for any copy of the cookie too. The
person and their role are read on every request, so a changed role applies at once. Signing in
replaces the whole cookie (and its CSRF token).

**CSRF.** A random token per browser session (made on the first page a browser sees, signed in
or not), put by the templates in a hidden ``csrf`` field of every form that changes something
and compared in constant time on every POST (:func:`csrf_ok`); a POST without it, or with
another session's, is a 403 and changes nothing. ``SameSite=Lax`` already keeps the cookie off
cross-site POSTs; the token also covers browsers that ignore it and same-site attackers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from curation.clock import utcnow
from curation.mail.tokens import load_secret
from curation.people.records import PersonRecord
from curation.people.signin import SignIn
from curation.services import Curation
from curation.settings import Settings
from curation.storage.signin import SignInStore

COOKIE = "curation_session"
CSRF_FIELD = "csrf"
SESSION_FIELD = "sid"


class WebSessions:
    """``SessionMiddleware``, built on the first request: the key may have to be read from (or
    written to) the key file, which building the app must not do."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._inner: SessionMiddleware | None = None

    def _build(self) -> SessionMiddleware:
        key = hmac.new(
            load_secret(self.settings).encode(), b"curation-web-session/v1", hashlib.sha256
        ).hexdigest()
        return SessionMiddleware(
            self.app,
            secret_key=key,
            session_cookie=COOKIE,
            max_age=self.settings.web_session_hours * 3600,
            same_site="lax",
            https_only=self.settings.base_url.startswith("https://"),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._inner is None:
            self._inner = self._build()
        await self._inner(scope, receive, send)


def sign_in_service(request: Request, domain: Curation) -> SignIn:
    """The app's sign-in service, built on first use from its domain, then reused."""
    service = getattr(request.app.state, "sign_in", None)
    if service is None or service.people is not domain.people:
        service = SignIn(SignInStore(domain.engine), domain.people, domain.settings)
        request.app.state.sign_in = service
    return service


def csrf_token(request: Request) -> str:
    """This session's CSRF token (made now if it has none)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(24)
        request.session[CSRF_FIELD] = token
    return token


def csrf_ok(request: Request, posted: object) -> bool:
    expected = request.session.get(CSRF_FIELD)
    return (
        isinstance(expected, str)
        and bool(expected)
        and isinstance(posted, str)
        and hmac.compare_digest(expected.encode(), posted.encode())
    )


def has_session(request: Request) -> bool:
    """Whether the request carries a signed-in cookie (not yet whether its session lives)."""
    return "session" in request.scope and isinstance(request.session.get(SESSION_FIELD), str)


def sign_in(request: Request, service: SignIn, person: PersonRecord) -> None:
    """Start a new session for ``person`` (everything of the previous cookie is dropped).
    Blocking (a write): call it from a thread."""
    token = service.start_session(person, now=utcnow())
    request.session.clear()
    request.session.update({SESSION_FIELD: token, CSRF_FIELD: secrets.token_urlsafe(24)})


def person_of(request: Request, service: SignIn) -> PersonRecord | None:
    """The person of this cookie's session while it lives; a dead one's cookie is cleared.
    Blocking (a query): call it from a thread."""
    token = request.session.get(SESSION_FIELD)
    if not isinstance(token, str):
        return None
    person = service.session_person(token, now=utcnow())
    if person is None:
        request.session.clear()
    return person


def known_person_of(request: Request, service: SignIn) -> PersonRecord | None:
    """:func:`person_of` from memory (no query, no thread), or None: then ask :func:`person_of`
    from a thread."""
    token = request.session.get(SESSION_FIELD)
    if not isinstance(token, str):
        return None
    return service.known_session_person(token, now=utcnow())


async def session_person(request: Request, service: SignIn) -> PersonRecord | None:
    """:func:`person_of` for async code: answered on the event loop when the key cache holds
    the session (:func:`known_person_of`), else from a thread."""
    return known_person_of(request, service) or await run_in_threadpool(person_of, request, service)


def sign_out(request: Request, service: SignIn) -> None:
    """End the session (for every copy of the cookie) and clear this cookie. Blocking."""
    token = request.session.get(SESSION_FIELD)
    if isinstance(token, str):
        service.end_session(token, now=utcnow())
    request.session.clear()


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message for the next page shown (after a form's redirect)."""
    request.session["flash"] = [kind, message]


def take_flash(request: Request) -> tuple[str, str] | None:
    value = request.session.pop("flash", None)
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]), str(value[1])
    return None
