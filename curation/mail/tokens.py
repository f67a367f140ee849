"""Signed, expiring tokens for the one-click links in e-mails (no login needed).

A token reads ``{action}.{person_id}.{item_id}.{expires}.{holder}.{signature}``:

- ``action`` is one letter: ``u`` useful, ``n`` not_useful, ``x`` unsubscribe, ``o`` open (an
  item link that redirects to the item and counts the open: :mod:`curation.mail.opens`),
  ``t`` share with my team (opens a note form: :mod:`curation.mail.links`), ``s`` save for
  later (a feedback link whose signal is ``saved``);
- ``item_id`` is 0 for unsubscribe; ``expires`` is a Unix time in seconds;
- ``holder`` names *which* person holds ``person_id``: the first 8 bytes of a keyed HMAC of the
  person's id and ``created_at`` (to the microsecond), urlsafe base64 without padding;
- ``signature`` is the first 16 bytes (128 bits) of HMAC-SHA256 over
  ``"curation-link/v2|" + everything before it``, urlsafe base64 without padding.

Every character is URL-safe, so a token goes into a query string as it is. Checking recomputes
the signature and compares it in constant time before trusting any field; only then are the
action and the expiry looked at. The ids are not secret (they are visible in the token); what
the signature protects is that nobody can make a token for another person, item or action.

An id alone does not name a person for ever: a person can be deleted, and an id could (before
migration 0007 on SQLite) be given to someone else, who must not be unsubscribed by a link
mailed a year earlier to the first. So a token also names the holder, and the caller checks it
against the person the id names now (:func:`held_by`): ``created_at`` is set once, when the
person is created, and never changes, so a person deleted and made again -- even with the same
id -- has another one, and every old link dies with the old person. The tag is keyed so that it
does not reveal ``created_at``. Tokens of the first format (``curation-link/v1``, no holder)
are refused: they cannot tell one holder of an id from the next.

The key is ``CURATION_SECRET_KEY``. When it is unset, :func:`load_secret` creates a random key
once in ``CURATION_SECRET_KEY_FILE`` (mode 0600) and reads it from there after, so links in
e-mails already sent keep working across restarts. Changing the key invalidates every link.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import os
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from curation.errors import InvalidInput
from curation.mail.errors import ExpiredLink, InvalidLink
from curation.settings import Settings

ACTIONS = {
    "useful": "u",
    "not_useful": "n",
    "unsubscribe": "x",
    "open": "o",
    "share": "t",
    "saved": "s",
}
_ACTION_NAMES = {code: name for name, code in ACTIONS.items()}
_CONTEXT = b"curation-link/v2|"
_HOLDER_CONTEXT = b"curation-link-holder/v2|"
_SIG_BYTES = 16
_HOLDER_BYTES = 8  # tells two holders of one id apart; the signature makes it unforgeable
_MAX_TOKEN_CHARS = 100
_B64 = "[A-Za-z0-9_-]"
_TOKEN = re.compile(
    rf"([unxots])\.(\d{{1,12}})\.(\d{{1,12}})\.(\d{{1,12}})\.({_B64}{{11}})\.({_B64}{{22}})"
)
_V1_TOKEN = re.compile(rf"[unx]\.\d{{1,12}}\.\d{{1,12}}\.\d{{1,12}}\.{_B64}{{22}}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_SECRET_CHARS = 16


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a verified token allows: ``action`` for ``person_id`` (and ``item_id``)."""

    action: str  # useful | not_useful | unsubscribe
    person_id: int
    item_id: int  # 0 for unsubscribe
    expires_at: datetime
    holder: str  # which person held ``person_id`` when the link was made: see :func:`held_by`


def _mac(secret: str, context: bytes, body: str, size: int) -> str:
    mac = hmac.digest(secret.encode("utf-8"), context + body.encode("ascii"), "sha256")
    return base64.urlsafe_b64encode(mac[:size]).rstrip(b"=").decode("ascii")


def _signature(secret: str, body: str) -> str:
    return _mac(secret, _CONTEXT, body, _SIG_BYTES)


@lru_cache(maxsize=256)  # a digest e-mail signs ~50 links for one person: one tag for all
def holder_tag(secret: str, person_id: int, person_created_at: datetime) -> str:
    """The tag naming the person created at ``person_created_at`` with id ``person_id``."""
    at = person_created_at
    if at.tzinfo is None:  # stored as UTC everywhere (UTCDateTime)
        at = at.replace(tzinfo=UTC)
    micros = (at - _EPOCH) // timedelta(microseconds=1)  # exact, whatever the backend
    return _mac(secret, _HOLDER_CONTEXT, f"{person_id}|{micros}", _HOLDER_BYTES)


def sign(
    secret: str,
    action: str,
    person_id: int,
    item_id: int,
    expires_at: datetime,
    *,
    person_created_at: datetime,
) -> str:
    """A token allowing ``action`` on ``item_id`` until ``expires_at`` for the person with id
    ``person_id`` created at ``person_created_at`` (and for no later holder of that id)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    if person_id < 0 or item_id < 0:
        raise ValueError("ids in a link must not be negative")
    holder = holder_tag(secret, person_id, person_created_at)
    body = f"{ACTIONS[action]}.{person_id}.{item_id}.{int(expires_at.timestamp())}.{holder}"
    return f"{body}.{_signature(secret, body)}"


def verify(secret: str, token: str, *, now: datetime, actions: Collection[str]) -> LinkClaim:
    """The claim in ``token``, or :class:`InvalidLink` / :class:`ExpiredLink`.

    ``actions`` are the ones this endpoint accepts: a genuine unsubscribe token is still
    refused by the feedback endpoint, and the other way round. The claim is not yet bound to
    anyone: the caller must also check :func:`held_by` against the person ``person_id`` names.
    """
    match = _TOKEN.fullmatch(token) if len(token) <= _MAX_TOKEN_CHARS else None
    if match is None:
        if len(token) <= _MAX_TOKEN_CHARS and _V1_TOKEN.fullmatch(token):
            raise InvalidLink(
                "this link is from an older e-mail and no longer works; "
                "the links in your latest digest do"
            )
        raise InvalidLink("this link is not valid (it may have been cut short)")
    code, person_id, item_id, expires, holder, signature = match.groups()
    body = token[: match.start(6) - 1]
    if not hmac.compare_digest(signature, _signature(secret, body)):
        raise InvalidLink("this link is not valid")
    action = _ACTION_NAMES[code]
    if action not in actions:
        raise InvalidLink(f"this link is for {action.replace('_', ' ')}, not this page")
    expires_at = datetime.fromtimestamp(int(expires), UTC)
    if now >= expires_at:
        raise ExpiredLink(f"this link expired on {expires_at:%Y-%m-%d}", resource_id=person_id)
    return LinkClaim(action, int(person_id), int(item_id), expires_at, holder)


def held_by(secret: str, claim: LinkClaim, person_created_at: datetime) -> bool:
    """Whether ``claim`` was made for the person who now has its id, created at
    ``person_created_at`` (False for anyone who got the id later)."""
    expected = holder_tag(secret, claim.person_id, person_created_at)
    return hmac.compare_digest(claim.holder, expected)


# ---- the key ----------------------------------------------------------------------------------


def load_secret(settings: Settings) -> str:
    """``CURATION_SECRET_KEY``, or the key kept in ``CURATION_SECRET_KEY_FILE`` (made once)."""
    configured = settings.secret_key.get_secret_value().strip()
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise InvalidInput(f"CURATION_SECRET_KEY must be at least {MIN_SECRET_CHARS} chars")
        return configured
    path = Path(settings.secret_key_file)
    if path.exists():
        return _read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a complete private file under a temporary name, then link it into place: os.link
    # fails if the file exists, so two processes starting together agree on one key and
    # neither can read a half-written file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET_CHARS:
        raise InvalidInput(f"the key in {path} is too short; delete it to make a new one")
    return value
