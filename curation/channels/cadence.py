"""Cadence: on which of a person's local days a channel carries the digest. Pure functions.

A channel's cadence is ``daily``, ``weekdays`` (Monday–Friday) or ``weekly`` on one
``weekday`` (0 Monday … 6 Sunday). The day judged is always the digest's own ``day``: the
person's local calendar date at their digest hour (:mod:`curation.digest.timing`), so time
zones and daylight-saving changes are settled before this rule runs — a digest recorded at
00:30 local on a Monday is Monday's whatever the UTC date.

Design (documented in ``docs/channels.md``): digests are still built every day (the API, the
personal feeds and the other channels read them); a channel simply does not carry the digests
of days outside its cadence. A weekly channel posts the digest of its weekday only, not a
bundle of the week: every digest stays one delivery row per channel, so the exactly-once
guarantee is the same as for daily ones, and nothing is repeated (the other days' items are
in the API and the feeds).

:func:`days_mask` writes the rule as 7 characters (Sunday first, SQL's ``%w`` / ``dow``
numbering) stored on the channel row, so SQL can test a digest's day by lookup, without a copy
of the rule.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from curation.errors import InvalidInput


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"


WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def checked(cadence: str, weekday: int | None) -> tuple[Cadence, int | None]:
    """The cadence and weekday, validated: a weekday is required for (and only for) weekly."""
    try:
        kind = Cadence(cadence)
    except ValueError:
        raise InvalidInput(f"cadence must be daily, weekdays or weekly, not {cadence!r}") from None
    if kind is Cadence.WEEKLY:
        if weekday is None or not 0 <= weekday <= 6:
            raise InvalidInput("a weekly cadence needs a weekday from 0 (Monday) to 6 (Sunday)")
        return kind, weekday
    if weekday is not None:
        raise InvalidInput(f"weekday is only for a weekly cadence, not {kind.value}")
    return kind, None


def sends_on(cadence: str, weekday: int | None, day: date) -> bool:
    """True when a channel of this cadence carries the digest of local date ``day``."""
    kind = Cadence(cadence)
    if kind is Cadence.DAILY:
        return True
    if kind is Cadence.WEEKDAYS:
        return day.weekday() < 5
    return day.weekday() == weekday


def sends_on_day(cadence: str, weekday: int | None, day: str) -> bool:
    """:func:`sends_on` for a digest's ``day`` (YYYY-MM-DD)."""
    return sends_on(cadence, weekday, date.fromisoformat(day))


def sends_at(cadence: str, weekday: int | None, now: datetime, timezone: str) -> bool:
    """:func:`sends_on` for the person's local date at the instant ``now``."""
    return sends_on(cadence, weekday, now.astimezone(ZoneInfo(timezone)).date())


def days_mask(cadence: str, weekday: int | None) -> str:
    """The cadence as 7 characters, Sunday first ("1": sends that day), from :func:`sends_on`.

    Computed over a known week (2026-11-01 was a Sunday), so it is the rule itself evaluated,
    not a second writing of it."""
    return "".join(
        "1" if sends_on(cadence, weekday, date(2026, 11, 1 + n)) else "0" for n in range(7)
    )
