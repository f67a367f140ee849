"""When to poll a source next: pure functions of the outcome, the error count and ``now``.

A server that answers 429 (Too Many Requests) or 503 (Service Unavailable) with ``Retry-After``
is obeyed: the next attempt is no earlier than it asks, whichever is later of that and the
normal backoff, and never more than :data:`MAX_RETRY_AFTER` (24 h) away on its word alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from curation.backoff import backoff_delay
from curation.settings import Settings

__all__ = ["MAX_RETRY_AFTER", "RETRY_AFTER_STATUSES", "next_poll", "next_retry", "retry_after"]

#: the longest wait a server's ``Retry-After`` can impose by itself
MAX_RETRY_AFTER = timedelta(hours=24)
#: the statuses whose ``Retry-After`` is honoured
RETRY_AFTER_STATUSES = frozenset({429, 503})


def next_poll(now: datetime, settings: Settings) -> datetime:
    """After a success (200 or 304): the regular interval."""
    return now + timedelta(minutes=settings.poll_interval_minutes)


def next_retry(
    now: datetime,
    error_count: int,
    settings: Settings,
    *,
    source_id: int = 0,
    retry_after: float | None = None,
) -> datetime:
    """After the ``error_count``-th consecutive failure: exponential backoff, capped.

    1st failure waits ``backoff_base_minutes``, each further one doubles it, never beyond
    ``backoff_max_hours``. A small deterministic spread per source (up to 10 %) keeps many
    sources that failed together from retrying in the same second. ``retry_after`` (seconds a
    server asked us to wait) pushes the attempt later, up to :data:`MAX_RETRY_AFTER`; it never
    brings it earlier.
    """
    delay = backoff_delay(
        error_count,
        timedelta(minutes=settings.backoff_base_minutes),
        timedelta(hours=settings.backoff_max_hours),
    )
    spread = delay * ((source_id * 2654435761) % 100) / 1000
    backoff = now + delay + spread
    if retry_after is None or retry_after <= 0:
        return backoff
    asked = now + min(timedelta(seconds=retry_after), MAX_RETRY_AFTER)
    return max(backoff, asked)


def retry_after(value: str | None, now: datetime) -> float | None:
    """The seconds a ``Retry-After`` header asks for, in either form (``120`` or an HTTP date),
    from ``now``; None when absent or unreadable, 0 for a date already past. Values beyond
    :data:`MAX_RETRY_AFTER` are kept here and capped by :func:`next_retry`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value[:12]), 10**9))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:  # RFC 9110 dates are GMT; a zoneless one is not
        return None
    return max(0.0, (when - now).total_seconds())
