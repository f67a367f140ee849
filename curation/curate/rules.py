"""The rules for a curator's gem: its note and its audience. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from curation.errors import InvalidInput
from curation.people.rules import clean_phrase
from curation.vocab import MAX_AUDIENCE, MAX_NOTE_CHARS


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
