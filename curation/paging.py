"""Pages of lists: bounded limits and opaque keyset cursors, shared by every paginated list.

A cursor names the last id seen, so a page never repeats or skips a row while new ones arrive.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from curation.errors import InvalidInput

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(kind: str, number: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{number}".encode()).decode().rstrip("=")


def _decode(cursor: str, kind: str, max_digits: int) -> int:
    """The number an :func:`_encode` cursor of ``kind`` holds; :class:`InvalidInput` if forged."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raw = ""
    found, _, value = raw.partition(":")
    if found != kind or not value.isdigit() or len(value) > max_digits:
        raise InvalidInput("cursor is not valid: pass the next_cursor of a previous page")
    return int(value)


def encode_cursor(last_id: int) -> str:
    return _encode("id", last_id)


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor stands for, or None for the first page; :class:`InvalidInput` if forged."""
    return _decode(cursor, "id", 18) if cursor else None


def check_limit(limit: int, maximum: int = MAX_LIMIT) -> int:
    if not 1 <= limit <= maximum:
        raise InvalidInput(f"limit must be between 1 and {maximum}")
    return limit


def page_of(rows: Sequence[T], limit: int, key: str = "id") -> Page[T]:
    """Cut ``limit + 1`` fetched rows to a page; the extra row only says there is a next one."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(getattr(items[-1], key)) if more and items else None)


def encode_offset(offset: int) -> str:
    """A cursor for lists ordered by something other than id (search by relevance)."""
    return _encode("at", offset)


def decode_offset(cursor: str | None) -> int:
    """The offset an :func:`encode_offset` cursor stands for (0 for the first page)."""
    return _decode(cursor, "at", 9) if cursor else 0
