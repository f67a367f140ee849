"""The "From your team" section on a real database: what teammates see, in which order, once,
within the fraction cap, and what a deleted sharer leaves behind."""

from __future__ import annotations

from datetime import timedelta

from curation.digest.view import DigestView
from tests.teams.conftest import DAY1, World


def _team(view: DigestView) -> list:
    return [e for s in view.sections if s.key == "team" for e in s.items]


def test_teammate_sees_the_share_once_with_name_and_note(world: World) -> None:
    c = world.curation
    ada = world.person("Ada", "python testing")
    bob = world.person("Bob", "python testing")
    cy = world.person("Cy", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    other = c.teams.create("Sales", now=DAY1)
    c.teams.set_members(team.id, [ada.id, bob.id])
    c.teams.set_members(other.id, [cy.id])
    shared = world.item_ids("garden")[0]  # not what Bob would get by his interests
    c.teams.share(ada, item_id=shared, team_id=team.id, note="Read the part on soil", now=DAY1)
    bob_day1 = c.digests.today(bob, now=DAY1 + timedelta(minutes=5))
    entries = _team(bob_day1)
    assert [e.item.id for e in entries] == [shared]
    assert entries[0].shared_by == "Ada" and entries[0].note == "Read the part on soil"
    assert entries[0].why.startswith("Shared by Ada with your team “Platform”")
    assert [s.title for s in bob_day1.sections] == [
        "For you",
        "From your team",
        "Gems from your curators",
    ]
    # the sharer does not get their own share; the other team never does
    assert _team(c.digests.today(ada, now=DAY1 + timedelta(minutes=5))) == []
    assert _team(c.digests.today(cy, now=DAY1 + timedelta(minutes=5))) == []
    # the day after: not again
    bob_day2 = c.digests.today(bob, now=DAY1 + timedelta(days=1, minutes=5))
    assert all(e.item.id != shared for s in bob_day2.sections for e in s.items)
    # recorded payload reads back the same
    assert c.digests.for_date(bob.id, bob_day1.date) == bob_day1


def test_shares_are_ranked_by_the_readers_interests_and_capped(world: World) -> None:
    c = world.curation
    ada = world.person("Ada", "garden tomatoes")
    bob = world.person("Bob", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    c.teams.set_members(team.id, [ada.id, bob.id])
    garden, python = world.item_ids("garden")[:2], world.item_ids("py")[:2]
    # shared oldest first: garden ones first; Bob's interests must put python first
    for n, item in enumerate([*garden, *python]):
        c.teams.share(
            ada, item_id=item, team_id=team.id, note=f"n{n}", now=DAY1 + timedelta(seconds=n)
        )
    view = c.digests.today(bob, now=DAY1 + timedelta(minutes=5))
    team_items = _team(view)
    own = [e for s in view.sections if s.key != "team" for e in s.items]
    # the fraction cap: at most 30% of the digest's items (at least one)
    assert 1 <= len(team_items) <= max(1, int(0.3 * (len(own) + len(team_items))))
    assert team_items[0].item.id in python
    assert "python testing" in team_items[0].why.lower()
    scores = [e.score for e in team_items]
    assert scores == sorted(scores, reverse=True)
    # what the cap held back is not in "For you" with the note lost: a shared item shows once
    ids = [e.item.id for s in view.sections for e in s.items]
    assert len(ids) == len(set(ids))


def test_a_deleted_sharer_becomes_a_former_member_without_the_note(world: World) -> None:
    c = world.curation
    ada = world.person("Ada", "python testing")
    bob = world.person("Bob", "python testing")
    dee = world.person("Dee", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    c.teams.set_members(team.id, [ada.id, bob.id, dee.id])
    item = world.item_ids("lead")[0]
    c.teams.share(ada, item_id=item, team_id=team.id, note="Ada's private thoughts", now=DAY1)
    past = c.digests.today(bob, now=DAY1 + timedelta(minutes=5))
    assert _team(past)[0].shared_by == "Ada"
    c.people.delete(ada.id)
    again = c.digests.for_date(bob.id, past.date)  # the recorded digest, read after
    entry = _team(again)[0]
    assert (entry.shared_by, entry.note) == ("a former member", None)
    assert "Ada" not in again.to_json()
    assert entry.why.startswith("Shared by a former member with your team")
    # the share stays for teammates who have not had it yet, without sharer nor note
    fresh = _team(c.digests.today(dee, now=DAY1 + timedelta(minutes=6)))
    assert [(e.item.id, e.shared_by, e.note) for e in fresh] == [(item, "a former member", None)]


def test_a_share_can_be_withdrawn_until_a_teammate_got_it(world: World) -> None:
    import pytest

    from curation.errors import Conflict

    c = world.curation
    ada = world.person("Ada", "python testing")
    bob = world.person("Bob", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    c.teams.set_members(team.id, [ada.id, bob.id])
    item = world.item_ids("py")[0]
    share = c.teams.share(ada, item_id=item, team_id=team.id, note=None, now=DAY1)
    c.digests.today(bob, now=DAY1 + timedelta(minutes=5))
    with pytest.raises(Conflict):
        c.teams.withdraw(ada, share.id)


def test_a_gem_aimed_at_a_team_reaches_its_members_only(world: World) -> None:
    c = world.curation
    curator = world.person("Cathy", "leadership", role="curator")
    bob = world.person("Bob", "python testing")
    cy = world.person("Cy", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    c.teams.set_members(team.id, [bob.id])
    item = world.item_ids("garden")[0]
    gem = c.gems.create(item_id=item, curator_id=curator.id, note="For the team", teams=[team.id])
    assert gem.teams == ((team.id, "Platform"),)
    bob_gems = [
        e
        for s in c.digests.today(bob, now=DAY1 + timedelta(minutes=5)).sections
        if s.key == "gems"
        for e in s.items
    ]
    assert [(e.item.id, e.why) for e in bob_gems] == [
        (item, "Recommended by your curators for the Platform team")
    ]
    cy_view = c.digests.today(cy, now=DAY1 + timedelta(minutes=5))
    assert all(e.item.id != item for s in cy_view.sections for e in s.items)
