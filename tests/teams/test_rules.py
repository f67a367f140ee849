"""The over-sharing guard and the team section's picking as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from curation.digest.rules import FOR_YOU, GEMS, TEAM, GemOffer, TeamOffer, gem_reaches, pick
from curation.errors import InvalidInput
from curation.rank.types import Candidate
from curation.teams.rules import (
    budget_detail,
    budget_frees_at,
    clean_share_note,
    shared_why,
    team_share_cap,
)

NOW = datetime(2026, 11, 9, 12, tzinfo=UTC)


def test_budget_counts_the_last_seven_days_only() -> None:
    days = [NOW - timedelta(days=d) for d in (8, 6, 3, 1)]  # the 8-day-old one does not count
    assert budget_frees_at(days, budget=4, now=NOW) is None
    # 3 in the window, budget 3: the oldest of them (6 days old) frees a slot in a day
    assert budget_frees_at(days, budget=3, now=NOW) == NOW + timedelta(days=1)
    # budget 2: two must age out; the second oldest (3 days) frees the slot in 4 days
    assert budget_frees_at(days, budget=2, now=NOW) == NOW + timedelta(days=4)
    assert budget_frees_at([], budget=0, now=NOW) == NOW + timedelta(days=7)
    detail = budget_detail(5, NOW + timedelta(days=1))
    assert "at most 5 shares in any 7 days" in detail and "2026-11-10 12:00 UTC" in detail


@pytest.mark.parametrize(
    ("others", "cap"),
    [(0, 1), (1, 1), (4, 1), (5, 2), (7, 3), (9, 3), (10, 4), (14, 6)],
)
def test_fraction_cap_at_the_default(others: int, cap: int) -> None:
    assert team_share_cap(others, 0.3) == cap
    if others >= 3:  # past the "at least one" floor the fraction holds
        assert cap <= 0.3 * (others + cap) + 1e-9
        assert cap + 1 > 0.3 * (others + cap + 1)  # and it is the largest that does


def test_fraction_cap_edges() -> None:
    assert team_share_cap(10, 0.0) == 0
    assert team_share_cap(3, 1.0) >= 1000
    assert team_share_cap(10, 0.5) == 10


def test_notes_are_plain_and_short() -> None:
    assert clean_share_note("  Read the part\x00 on soil \n") == "Read the part on soil"
    assert clean_share_note("   ") is None and clean_share_note(None) is None
    with pytest.raises(InvalidInput):
        clean_share_note("x" * 501)
    assert clean_share_note("é" * 500) == "é" * 500


def test_shared_why_names_the_sharer_or_a_former_member() -> None:
    assert shared_why("Ada", "Platform", "Matches your interest “python”.") == (
        "Shared by Ada with your team “Platform”. Matches your interest “python”."
    )
    assert shared_why(None, "Platform", None).startswith("Shared by a former member")


def _ranked(*ids: int) -> list[Candidate]:
    return [Candidate(i, 1.0 - i / 100, f"why {i}") for i in ids]


def test_pick_orders_shares_by_the_readers_score_and_caps_them() -> None:
    shares = [
        TeamOffer(1, 101, "Platform", "Ada", "a", score=0.1),
        TeamOffer(2, 102, "Platform", "Bob", None, score=0.9, why="Matches your interest “x”."),
        TeamOffer(3, 103, "Platform", "Cy", "c", score=0.5),
    ]
    picks = pick(
        _ranked(1, 2, 3, 4, 5), [], interests=["x"], delivered=set(), limit=5, shares=shares
    )
    team = [p for p in picks if p.section == TEAM]
    # 5 own items at 0.3: two shares, the reader's best first
    assert [p.item_id for p in team] == [102, 103]
    assert team[0].why == "Shared by Bob with your team “Platform”. Matches your interest “x”."
    assert (team[1].shared_by, team[1].note, team[1].share_id) == ("Cy", "c", 3)
    assert len(team) <= 0.3 * len(picks)
    assert [p.item_id for p in picks if p.section == FOR_YOU] == [1, 2, 3, 4, 5]


def test_pick_never_repeats_a_delivered_item_and_prefers_the_team_section() -> None:
    shares = [TeamOffer(1, 7, "Platform", "Ada", "note"), TeamOffer(2, 8, "Platform", "Ada", None)]
    picks = pick(_ranked(7, 9), [], interests=["x"], delivered={8}, limit=5, shares=shares)
    assert [(p.section, p.item_id) for p in picks] == [(TEAM, 7), (FOR_YOU, 9)]
    # nothing of the person's own: still one share ("at least one")
    alone = pick([], [], interests=[], delivered=set(), limit=5, shares=shares)
    assert [(p.section, p.item_id) for p in alone] == [(TEAM, 7)]


def test_gems_aimed_at_teams() -> None:
    platform = GemOffer(1, 50, "n", (), "Cathy", teams=((3, "Platform"),))
    both = GemOffer(2, 51, "n", ("python",), "Cathy", teams=((3, "Platform"),))
    assert (
        gem_reaches(platform, ["python"], {3})
        == "Recommended by your curators for the Platform team"
    )
    assert gem_reaches(platform, ["python"], {4}) is None  # a team-only gem is not for everyone
    assert gem_reaches(both, ["python testing"], set()) is not None  # its audience still matches
    picks = pick([], [platform, both], interests=["garden"], delivered=set(), limit=5, teams={3})
    assert [(p.section, p.item_id) for p in picks] == [(GEMS, 50), (GEMS, 51)]
