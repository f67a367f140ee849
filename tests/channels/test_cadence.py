"""The cadence rule (curation/channels/cadence.py): which local days a channel carries, across
time zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from curation.channels.cadence import checked, days_mask, sends_at, sends_on, sends_on_day
from curation.errors import InvalidInput

WEEK = [date(2026, 11, 2) + timedelta(days=n) for n in range(7)]  # Monday 2 Nov … Sunday 8 Nov


def test_daily_sends_every_day() -> None:
    assert [sends_on("daily", None, d) for d in WEEK] == [True] * 7


def test_weekdays_send_monday_to_friday() -> None:
    assert [sends_on("weekdays", None, d) for d in WEEK] == [True] * 5 + [False] * 2


@pytest.mark.parametrize("weekday", range(7))
def test_weekly_sends_on_its_day_only(weekday: int) -> None:
    assert [sends_on("weekly", weekday, d) for d in WEEK] == [n == weekday for n in range(7)]


def test_days_mask_is_the_rule_sunday_first() -> None:
    assert days_mask("daily", None) == "1111111"
    assert days_mask("weekdays", None) == "0111110"
    assert days_mask("weekly", 0) == "0100000"  # Monday
    assert days_mask("weekly", 6) == "1000000"  # Sunday


def test_the_persons_local_date_decides_not_utc() -> None:
    # Friday 23:30 UTC is already Saturday in Auckland and still Friday in New York
    now = datetime(2026, 11, 6, 23, 30, tzinfo=UTC)
    assert sends_at("weekdays", None, now, "America/New_York") is True
    assert sends_at("weekdays", None, now, "Pacific/Auckland") is False
    assert sends_at("weekly", 5, now, "Pacific/Auckland") is True


def test_autumn_dst_change_keeps_the_local_sunday() -> None:
    # New York falls back on Sunday 1 Nov 2026 at 02:00 EDT (06:00 UTC): 01:30 happens twice
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    late = datetime(2026, 11, 2, 4, 59, tzinfo=UTC)  # 23:59 EST, still Sunday
    for now in (first, second, late):
        assert sends_at("weekly", 6, now, "America/New_York") is True
        assert sends_at("weekdays", None, now, "America/New_York") is False
    assert sends_at("weekdays", None, datetime(2026, 11, 2, 5, 0, tzinfo=UTC), "America/New_York")


def test_spring_dst_change_keeps_the_local_monday() -> None:
    # Berlin springs forward on Sunday 29 Mar 2026 at 02:00 CET; Monday starts at 22:00 UTC
    sunday_night = datetime(2026, 3, 29, 21, 59, tzinfo=UTC)  # 23:59 CEST Sunday
    monday = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # 00:00 CEST Monday
    assert sends_at("weekly", 0, sunday_night, "Europe/Berlin") is False
    assert sends_at("weekly", 0, monday, "Europe/Berlin") is True
    assert sends_at("weekly", 0, monday, "UTC") is False  # still Sunday in UTC


def test_a_digest_day_string_is_judged_as_that_local_date() -> None:
    assert sends_on_day("weekdays", None, "2026-11-07") is False  # a Saturday
    assert sends_on_day("weekly", 5, "2026-11-07") is True


@pytest.mark.parametrize(
    ("cadence", "weekday"), [("weekly", None), ("weekly", 7), ("daily", 2), ("monthly", None)]
)
def test_bad_cadences_are_refused(cadence: str, weekday: int | None) -> None:
    with pytest.raises(InvalidInput):
        checked(cadence, weekday)
