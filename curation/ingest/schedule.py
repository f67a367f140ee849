"""When to poll a source next: pure functions of the outcome, the error count and ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta

from curation.backoff import backoff_delay
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
    delay = backoff_delay(
        error_count,
        timedelta(minutes=settings.backoff_base_minutes),
        timedelta(hours=settings.backoff_max_hours),
    )
    spread = delay * ((source_id * 2654435761) % 100) / 1000
    return now + delay + spread
