"""Signed, expiring tokens for the one-click links in e-mails (no login needed).

A token reads ``{action}.{person_id}.{item_id}.{expires}.{signature}``:

- ``action`` is one letter: ``u`` useful, ``n`` not_useful, ``x`` unsubscribe;
- ``item_id`` is 0 for unsubscribe; ``expires`` is a Unix time in seconds;
- ``signature`` is the first 16 bytes (128 bits) of HMAC-SHA256 over
  ``"curation-link/v1|" + everything before it``, urlsafe base64 without padding.

Every character is URL-safe, so a token goes into a query string as it is. Checking recomputes
the signature and compares it in constant time before trusting any field; only then are the
action and the expiry looked at. The ids are not secret (they are visible in the token); what
the signature protects is that nobody can make a token for another person, item or action.

The key is ``CURATION_SECRET_KEY``. When it is unset, :func:`load_secret` creates a random key
once in ``CURATION_SECRET_KEY_FILE`` (mode 0600) and reads it from there after, so links in
e-mails already sent keep working across restarts. Changing the key invalidates every link.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from curation.errors import InvalidInput
from curation.mail.errors import ExpiredLink, InvalidLink
from curation.settings import Settings

ACTIONS = {"useful": "u", "not_useful": "n", "unsubscribe": "x"}
_ACTION_NAMES = {code: name for name, code in ACTIONS.items()}
_CONTEXT = b"curation-link/v1|"
_SIG_BYTES = 16
_MAX_TOKEN_CHARS = 100
_TOKEN = re.compile(r"([unx])\.(\d{1,12})\.(\d{1,12})\.(\d{1,12})\.([A-Za-z0-9_-]{22})")
MIN_SECRET_CHARS = 16


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a verified token allows: ``action`` for ``person_id`` (and ``item_id``)."""

    action: str  # useful | not_useful | unsubscribe
    person_id: int
    item_id: int  # 0 for unsubscribe
    expires_at: datetime


def _signature(secret: str, body: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), _CONTEXT + body.encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:_SIG_BYTES]).rstrip(b"=").decode("ascii")


def sign(secret: str, action: str, person_id: int, item_id: int, expires_at: datetime) -> str:
    """A token allowing ``action`` for ``person_id`` on ``item_id`` until ``expires_at``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    if person_id < 0 or item_id < 0:
        raise ValueError("ids in a link must not be negative")
    body = f"{ACTIONS[action]}.{person_id}.{item_id}.{int(expires_at.timestamp())}"
    return f"{body}.{_signature(secret, body)}"


def verify(secret: str, token: str, *, now: datetime, actions: Collection[str]) -> LinkClaim:
    """The claim in ``token``, or :class:`InvalidLink` / :class:`ExpiredLink`.

    ``actions`` are the ones this endpoint accepts: a genuine unsubscribe token is still
    refused by the feedback endpoint, and the other way round.
    """
    match = _TOKEN.fullmatch(token) if len(token) <= _MAX_TOKEN_CHARS else None
    if match is None:
        raise InvalidLink("this link is not valid (it may have been cut short)")
    code, person_id, item_id, expires, signature = match.groups()
    body = token[: match.start(5) - 1]
    if not hmac.compare_digest(signature, _signature(secret, body)):
        raise InvalidLink("this link is not valid")
    action = _ACTION_NAMES[code]
    if action not in actions:
        raise InvalidLink(f"this link is for {action.replace('_', ' ')}, not this page")
    expires_at = datetime.fromtimestamp(int(expires), UTC)
    if now >= expires_at:
        raise ExpiredLink(f"this link expired on {expires_at:%Y-%m-%d}", resource_id=person_id)
    return LinkClaim(action, int(person_id), int(item_id), expires_at)


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
