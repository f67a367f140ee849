"""When a digest is due (curation.digest.timing): the local hour, the person's calendar day, and
exactly one digest a day across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from curation.digest.timing import digest_due, local_day


def test_digest_due_at_local_hour_once() -> None:
    tz = "Europe/Paris"  # UTC+1 in November
    before = datetime(2026, 11, 2, 5, 59, tzinfo=UTC)  # 06:59 local
    at = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # 07:00 local
    assert digest_due(before, tz, 7, None) is None
    assert digest_due(at, tz, 7, None) == "2026-11-02"
    assert digest_due(at, tz, 7, "2026-11-02") is None  # already made
    late = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)  # asleep all day, wakes at 23:00 local
    assert digest_due(late, tz, 7, "2026-11-01") == "2026-11-02"


def test_digest_due_uses_the_persons_calendar_day() -> None:
    # 23:30 UTC on the 2nd is already the 3rd in Tokyo
    now = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    assert local_day(now, "Asia/Tokyo") == "2026-11-03"
    assert digest_due(now, "Asia/Tokyo", 7, "2026-11-02") == "2026-11-03"
    assert digest_due(now, "America/New_York", 7, "2026-11-02") is None


@pytest.mark.parametrize(
    ("tz", "day", "hour"),
    [
        ("America/New_York", "2026-03-08", 2),  # spring forward: 02:00 does not exist
        ("America/New_York", "2026-11-01", 1),  # fall back: 01:00 happens twice
        ("Europe/Berlin", "2026-03-29", 2),
        ("Europe/Berlin", "2026-10-25", 2),
    ],
)
def test_dst_days_get_exactly_one_digest(tz: str, day: str, hour: int) -> None:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(hours=14)
    made: list[str] = []
    last: str | None = None
    for minute in range(0, 48 * 60, 5):  # poll every 5 minutes over two UTC days
        now = start + timedelta(minutes=minute)
        due = digest_due(now, tz, hour, last)
        if due:
            made.append(due)
            last = due
    assert made.count(day) == 1
    assert len(made) == len(set(made))  # no day twice
    assert made == sorted(made)  # and none skipped out of order
