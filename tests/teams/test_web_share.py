"""Sharing from the person's web page: the form posts with the page's CSRF token, within the
same guard as the API (a team of theirs only)."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers.api import Api, open_api
from tests.helpers.settings import db_url
from tests.helpers.web import page_csrf, sign_in
from tests.teams.conftest import DAY1, World


def test_the_share_form_shares_into_my_team_only(web: Api) -> None:  # noqa: F811
    me, other = web.person(), web.person()
    domain = web.app.state.domain.get()
    mine = domain.teams.create("Platform")
    domain.teams.set_members(mine.id, [me.id])
    theirs = domain.teams.create("Sales")
    domain.teams.set_members(theirs.id, [other.id])
    item = web.item("pytest fixtures")
    sign_in(web.client, me.key)
    token = page_csrf(web.client, "/me")
    form = {"csrf": token, "item_id": str(item), "note": "Worth it", "back": "/me"}
    refused = web.client.post("/me/shares", data={**form, "team_id": str(theirs.id)})
    assert "you are not in team" in refused.text
    assert domain.teams.my_shares(me.id) == []
    done = web.client.post("/me/shares", data={**form, "team_id": str(mine.id)})
    assert "Shared with “Platform”" in done.text
    (share,) = domain.teams.my_shares(me.id)
    assert (share.item_id, share.team_id, share.note) == (item, mine.id, "Worth it")
    # without the CSRF token nothing happens
    web.client.post("/me/shares", data={**form, "csrf": "nope", "team_id": str(mine.id)})
    assert len(domain.teams.my_shares(me.id)) == 1


def test_a_past_digest_page_shows_who_shared_and_the_share_form(world: World) -> None:
    c = world.curation
    ada = world.person("Ada", "python testing")
    bob = world.person("Bob", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    c.teams.set_members(team.id, [ada.id, bob.id])
    item = world.item_ids("garden")[0]
    c.teams.share(ada, item_id=item, team_id=team.id, note="Read the part on soil", now=DAY1)
    day = c.digests.today(bob, now=DAY1 + timedelta(minutes=5)).date
    with open_api(db_url(world.store)) as api:
        sign_in(api.client, c.people.rotate_key(bob.id))
        page = api.client.get(f"/me/digests/{day}").text
    assert "From your team" in page
    assert "Shared by Ada: Read the part on soil" in page
    assert page.count("Share with my team") >= 1 and 'action="/me/shares"' in page
