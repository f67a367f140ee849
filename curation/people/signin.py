"""Signing in to the web workspace: one-time links sent by e-mail, or an API key.

- :meth:`SignIn.mail_link` mails a link to the person with that address and does nothing for
  an address nobody has: the caller answers the same either way (no account enumeration).
  The link carries a random token (256 bits); only its SHA-256 is stored
  (:mod:`curation.storage.signin`). It works once, within ``CURATION_WEB_SIGN_IN_LINK_MINUTES``.
- :meth:`SignIn.redeem` spends a token and returns its person; a token never issued, already
  used or expired gets the same :class:`InvalidLink` (a guesser learns nothing).
- :meth:`SignIn.with_api_key` is the development door: the person holding an API key.
- :meth:`SignIn.start_session` records a signed-in browser under another random token (the
  session cookie carries it; only its hash is stored) for ``CURATION_WEB_SESSION_HOURS``;
  :meth:`SignIn.session_person` finds its person while it lasts, :meth:`SignIn.end_session`
  ends it (sign-out), so a copy of the cookie taken before sign-out is worth nothing after.

Following the link (GET) must not spend it, since mail scanners follow links: the web layer
shows a page whose button POSTs the token back, as the feedback links do.
The mail goes through the configured transport (the outbox folder by default).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import quote

from curation.errors import NotFound, Unauthenticated
from curation.mail.errors import DeliveryFailed, InvalidLink
from curation.mail.transport import Transport, transport_from_settings
from curation.people.records import PersonRecord
from curation.settings import Settings
from curation.storage.people import PeopleStore
from curation.storage.signin import SignInStore

log = logging.getLogger(__name__)

#: where a sign-in link points (the web layer serves it)
SIGN_IN_PATH = "/sign-in/link"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_REFUSED = "this sign-in link is not valid: it may have been used already or have expired"


_SESSION_KEY = "session:"  # a session's entry in the key cache (API keys: the bare digest)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class SignIn:
    def __init__(self, store: SignInStore, people: PeopleStore, settings: Settings) -> None:
        self.store = store
        self.people = people
        self.settings = settings

    @property
    def link_lifetime(self) -> timedelta:
        return timedelta(minutes=self.settings.web_sign_in_link_minutes)

    def issue(self, email: str, *, now: datetime) -> tuple[PersonRecord, str] | None:
        """A new link token for the person with ``email`` (None when nobody has it)."""
        person_id = self.store.person_id_by_email(email)
        if person_id is None:
            return None
        token = secrets.token_urlsafe(32)
        self.store.issue(person_id, token_hash(token), now=now, expires_at=now + self.link_lifetime)
        return self.people.get(person_id), token

    def mail_link(self, email: str, *, now: datetime, transport: Transport | None = None) -> bool:
        """Mail a sign-in link to ``email`` if someone has that address; True when one was
        handed to the transport. Delivery failures are logged, never raised: the caller has
        already answered."""
        issued = self.issue(email, now=now)
        if issued is None:
            log.info("sign-in link asked for an address nobody has")
            return False
        person, token = issued
        message = self.message(person, token, now=now)
        own = transport is None
        transport = transport or transport_from_settings(self.settings)
        try:
            transport.send(message, to=person.email, key=f"sign-in-{token_hash(token)[:16]}")
        except DeliveryFailed as exc:
            log.warning("sign-in link for person %d not sent: %s", person.id, exc.detail)
            return False
        finally:
            if own:
                transport.close()
        log.info("sign-in link sent to person %d", person.id)
        return True

    def link(self, token: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}{SIGN_IN_PATH}?token={quote(token)}"

    def message(self, person: PersonRecord, token: str, *, now: datetime) -> EmailMessage:
        minutes = self.settings.web_sign_in_link_minutes
        msg = EmailMessage()
        msg["From"] = self.settings.mail_from
        msg["To"] = person.email
        msg["Subject"] = "Your curation sign-in link"
        msg["Date"] = formatdate(now.timestamp(), usegmt=True)
        msg["Message-ID"] = make_msgid(domain="curation.local")
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(
            f"Hello {person.name},\n\n"
            f"Open this link to sign in to curation (it works once, within {minutes} minutes):\n\n"
            f"{self.link(token)}\n\n"
            "If you did not ask to sign in, ignore this e-mail: nothing happens.\n"
        )
        return msg

    def redeem(self, token: str, *, now: datetime) -> PersonRecord:
        """Spend a link token: its person, or :class:`InvalidLink` (unknown, used, expired)."""
        if not _TOKEN.fullmatch(token or ""):
            raise InvalidLink(_REFUSED)
        person_id = self.store.redeem(token_hash(token), now=now)
        if person_id is None:
            raise InvalidLink(_REFUSED)
        return self.people.get(person_id)

    # ---- sessions ---------------------------------------------------------------------------

    def start_session(self, person: PersonRecord, *, now: datetime) -> str:
        """A new session token for ``person`` (for the cookie; shown nowhere else)."""
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=self.settings.web_session_hours)
        self.store.start_session(person.id, token_hash(token), now=now, expires_at=expires_at)
        return token

    def session_person(self, token: str, *, now: datetime) -> PersonRecord | None:
        """The person of a live session (not ended, not expired; their role as it is now)."""
        if not _TOKEN.fullmatch(token or ""):
            return None
        # remembered like an API key (the people store's cache: forgotten on every change to
        # people and on sign-out, here at once, elsewhere within the cache's check seconds):
        # a page costs no query for who is signed in
        cache, key = self.people.key_cache, _SESSION_KEY + token_hash(token)
        if cache is not None:
            self.people.check_marks()
            if (known := cache.get(key)) is not None:
                person, expires_at = known
                if expires_at > now:
                    return person
        stamp = cache.stamp() if cache is not None else (0, None)
        session = self.store.live_session(token_hash(token), now=now)
        if session is None:
            return None
        person_id, expires_at = session
        try:
            person = self.people.get(person_id)
        except NotFound:  # deleted since: the session went with them (cascade)
            return None
        if cache is not None:
            cache.put(key, (person, expires_at), stamp=stamp)
        return person

    def known_session_person(self, token: str, *, now: datetime) -> PersonRecord | None:
        """:meth:`session_person` when the key cache answers for the session now (its change
        mark was read within its check seconds), else None; no I/O, so a page can ask it on
        the event loop and go to a thread only when it says None."""
        cache = self.people.key_cache
        if cache is None or not _TOKEN.fullmatch(token or ""):
            return None
        known = cache.get(_SESSION_KEY + token_hash(token))
        if known is None:
            return None
        person, expires_at = known
        return person if expires_at > now else None

    def end_session(self, token: str, *, now: datetime) -> None:
        if _TOKEN.fullmatch(token or ""):
            self.store.end_session(token_hash(token), now=now)
            if self.people.key_cache is not None:
                self.people.key_cache.clear()

    def with_api_key(self, api_key: str) -> PersonRecord:
        person = self.people.authenticate(api_key.strip()) if api_key.strip() else None
        if person is None:
            raise Unauthenticated("that API key is not valid")
        return person
