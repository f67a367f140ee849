"""When a person's digest is due: pure functions of ``now``, their time zone and digest hour."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def local_day(now: datetime, timezone: str) -> str:
    """The person's local calendar date at ``now`` (YYYY-MM-DD)."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def digest_due(now: datetime, timezone: str, hour: int, last_day: str | None) -> str | None:
    """The local date whose digest is due at ``now``, or None.

    A digest for local date D is due from the first moment the local wall clock reads
    ``hour`` or later on D, if none was made for D yet. Comparing wall-clock hours (not
    instants) makes daylight-saving changes harmless: a skipped hour (02:00 on a spring-forward
    day) is caught at 03:00, a repeated hour (01:00 twice in autumn) finds D already done; a
    machine asleep at the hour sends when it wakes, once, since D is then recorded.
    """
    local = now.astimezone(ZoneInfo(timezone))
    day = local.date().isoformat()
    if local.hour < hour or last_day == day:
        return None
    return day


def digest_time(now: datetime, timezone: str, hour: int) -> datetime:
    """When the digest of the local date at ``now`` is (or was) due: that date at ``hour``
    local time, as an aware instant. On a day when ``hour`` is skipped (spring forward) it is
    the instant the clocks jump over it."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    wall = local.replace(hour=hour, minute=0, second=0, microsecond=0, fold=0)
    # through UTC: a wall time in a spring-forward gap becomes the first instant after it
    return wall.astimezone(UTC).astimezone(zone)
