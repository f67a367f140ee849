"""The digest's pure rules with hand-checkable data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from curation.digest.rules import (
    FOR_YOU,
    GEMS,
    Candidate,
    GemOffer,
    audience_matches,
    pick,
    window_start,
)

NOW = datetime(2026, 11, 2, 7, tzinfo=UTC)


def test_window_starts_at_previous_digest_or_first_window() -> None:
    prev = NOW - timedelta(hours=20)
    assert window_start(prev, NOW, timedelta(hours=24)) == prev
    assert window_start(None, NOW, timedelta(hours=24)) == NOW - timedelta(hours=24)


def test_audience_matching() -> None:
    interests = ["python testing", "learning analytics"]
    assert audience_matches(["python"], interests) == "python testing"
    assert audience_matches(["Learning Analytics"], interests) == "learning analytics"
    assert audience_matches(["python tests"], interests) is None  # "tests" is not "testing"
    assert audience_matches(["gardening"], interests) is None
    assert audience_matches([], interests) == "everyone"
    assert audience_matches(["python"], []) is None


def test_pick_limits_dedupes_and_puts_gems_first() -> None:
    ranked = [Candidate(i, 1.0 - i / 10, f"why {i}") for i in range(1, 8)]
    gems = [
        GemOffer(100, 3, "Read this", ("python",), "Cathy"),
        GemOffer(101, 50, "Not for you", ("gardening",)),
        GemOffer(102, 60, "For all", ()),
    ]
    picks = pick(ranked, gems, interests=["python testing"], delivered={1, 60}, limit=3)
    sections = [(p.section, p.item_id) for p in picks]
    # gem 102's item was delivered before; gem 101 does not match; item 3 comes as a gem only
    assert sections == [(GEMS, 3), (FOR_YOU, 2), (FOR_YOU, 4), (FOR_YOU, 5)]
    assert picks[0].note == "Read this" and "python testing" in picks[0].why
    assert all(p.why for p in picks)
    assert len({p.item_id for p in picks}) == len(picks)


def test_quiet_day_gives_short_digest() -> None:
    assert pick([], [], interests=["x"], delivered=set(), limit=10) == []
    one = pick([Candidate(5, 0.4, "w")], [], interests=["x"], delivered=set(), limit=10)
    assert [p.item_id for p in one] == [5]
