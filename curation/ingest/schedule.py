"""When to poll a source next: pure functions of the outcome, the error count and ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from curation.settings import Settings


def next_poll(now: datetime, settings: Settings) -> datetime:
    """After a success (200 or 304): the regular interval."""
    return now + timedelta(minutes=settings.poll_interval_minutes)


def next_retry(
    now: datetime, error_count: int, settings: Settings, *, source_id: int = 0
) -> datetime:
    """After the ``error_count``-th consecutive failure: exponential backoff, capped.

    1st failure waits ``backoff_base_minutes``, each further one doubles it, never beyond
    ``backoff_max_hours``. A small deterministic spread per source (up to 10 %) keeps many
    sources that failed together from retrying in the same second.
    """
    exponent = max(0, min(error_count - 1, 30))
    delay = timedelta(minutes=settings.backoff_base_minutes) * (2**exponent)
    delay = min(delay, timedelta(hours=settings.backoff_max_hours))
    spread = delay * ((source_id * 2654435761) % 100) / 1000
    return now + delay + spread


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
