"""The rules for a curator's gem: its note, its audience and who may change it. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from curation.errors import Forbidden, InvalidInput
from curation.people.rules import clean_phrase
from curation.vocab import MAX_AUDIENCE, MAX_NOTE_CHARS, Role


def clean_note(note: str) -> str:
    value = note.strip()
    if len(value) > MAX_NOTE_CHARS:
        raise InvalidInput(f"note longer than {MAX_NOTE_CHARS} characters")
    return value


def clean_audience(phrases: Iterable[str]) -> tuple[str, ...]:
    """Audience phrases cleaned like interests; repeats (ignoring case) kept once, in order."""
    seen: dict[str, str] = {}
    for phrase in phrases:
        value = clean_phrase(phrase)
        seen.setdefault(value.lower(), value)
    if len(seen) > MAX_AUDIENCE:
        raise InvalidInput(f"at most {MAX_AUDIENCE} audience phrases")
    return tuple(seen.values())


def check_gem_changer(
    gem_id: int, gem_curator_id: int | None, *, person_id: int, role: str
) -> None:
    """Every curator sees every gem; only the curator who picked it, or an admin, changes or
    deletes it (403 otherwise: the gem is visible anyway)."""
    if gem_curator_id != person_id and role != Role.ADMIN:
        raise Forbidden(
            "only the curator who picked a gem, or an admin, may change or delete it",
            resource_id=gem_id,
        )
