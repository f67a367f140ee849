"""When a source is fetched again (curation.ingest.schedule): the poll interval, and backoff
after failures that doubles, caps and spreads sources apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from curation.ingest.schedule import next_poll, next_retry
from curation.settings import Settings

S = Settings(database_url="sqlite://", backoff_base_minutes=15, backoff_max_hours=24)
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_backoff_doubles_and_caps() -> None:
    waits = [next_retry(T0, n, S) - T0 for n in range(1, 12)]
    assert waits[0] == timedelta(minutes=15)
    assert waits[1] == timedelta(minutes=30) and waits[2] == timedelta(minutes=60)
    assert waits[-1] == timedelta(hours=24)  # capped
    assert next_poll(T0, S) - T0 == timedelta(minutes=S.poll_interval_minutes)


def test_backoff_spread_is_deterministic_and_small() -> None:
    a = next_retry(T0, 3, S, source_id=7)
    assert a == next_retry(T0, 3, S, source_id=7)
    assert timedelta(hours=1) <= a - T0 <= timedelta(hours=1.1)
