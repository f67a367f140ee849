"""The rules for what a person may declare: phrases, weights, fields; and what an admin may do
to their own account. Pure: no I/O.

Interests, mutes and gem audiences are *phrases*: one line of text, no control characters
(:mod:`curation.textrules`), at most ``MAX_PHRASE_CHARS`` characters, whitespace collapsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from curation.errors import Conflict, InvalidInput
from curation.textrules import has_control
from curation.vocab import (
    MAX_EMAIL_CHARS,
    MAX_INTERESTS,
    MAX_NAME_CHARS,
    MAX_PHRASE_CHARS,
    MAX_WEIGHT,
    ROLES,
)


def clean_phrase(phrase: str) -> str:
    if has_control(str(phrase)):
        raise InvalidInput("a phrase cannot contain control characters")
    value = " ".join(str(phrase).split())
    if not value:
        raise InvalidInput("an interest or mute phrase cannot be empty")
    if len(value) > MAX_PHRASE_CHARS:
        raise InvalidInput(f"phrase longer than {MAX_PHRASE_CHARS} characters: {value[:30]}…")
    return value


def clean_email(email: str) -> str:
    value = email.strip()
    if "@" not in value or len(value) > MAX_EMAIL_CHARS:
        raise InvalidInput("email must be an address like name@example.org")
    return value


def check_person_fields(
    *, role: str | None = None, timezone: str | None = None, digest_hour: int | None = None
) -> None:
    if role is not None and role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a folder
            raise InvalidInput(f"unknown time zone {timezone!r}") from exc
    if digest_hour is not None and not 0 <= digest_hour <= 23:
        raise InvalidInput("digest_hour must be between 0 and 23")


def clean_interests(interests: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """Cleaned (phrase, weight) pairs; a phrase repeated (ignoring case) keeps its last weight."""
    found: dict[str, tuple[str, float]] = {}
    for phrase, weight in interests:
        text = clean_phrase(phrase)
        if not 0 < float(weight) <= MAX_WEIGHT:
            raise InvalidInput(f"weight of {text!r} must be above 0 and at most {MAX_WEIGHT:g}")
        found[text.lower()] = (text, float(weight))
    if len(found) > MAX_INTERESTS:
        raise InvalidInput(f"at most {MAX_INTERESTS} interests")
    return list(found.values())


def clean_mutes(mutes: Iterable[str]) -> list[str]:
    found = {clean_phrase(m).lower(): clean_phrase(m) for m in mutes}
    if len(found) > MAX_INTERESTS:
        raise InvalidInput(f"at most {MAX_INTERESTS} mutes")
    return list(found.values())


def check_own_account(
    admin_id: int, person_id: int, *, deleting: bool = False, role: str | None = None
) -> None:
    """An admin cannot delete themselves nor take away their own admin role (``role`` other
    than ``admin``; None leaves it as it is), so no admin can lock the service out: Conflict."""
    if person_id != admin_id:
        return
    if deleting:
        raise Conflict("you cannot delete yourself", resource_id=person_id)
    if role is not None and role != "admin":
        raise Conflict("you cannot take away your own admin role", resource_id=person_id)


def clean_name(name: str, *, fallback: str) -> str:
    """A person's display name: one line without control characters, whitespace collapsed,
    at most ``MAX_NAME_CHARS`` characters; ``fallback`` (their e-mail) when blank."""
    if has_control(str(name)):
        raise InvalidInput("a name cannot contain control characters")
    value = " ".join(str(name).split())
    if len(value) > MAX_NAME_CHARS:
        raise InvalidInput(f"name must be at most {MAX_NAME_CHARS} characters")
    return value or fallback
