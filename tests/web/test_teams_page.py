"""The admins' teams pages and the team boxes of the gem forms, over HTTP (no browser): create
a team, set its members and leads by e-mail address (an address nobody has is refused by name
and nothing changes), delete it; curators and learners are refused as on the people page, a
form without its CSRF token changes nothing; a gem tagged for a team from an item's page is
stored with the team and reaches the team's members' digests."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from curation.errors import InvalidInput
from curation.people.records import NewPerson
from curation.services import make_curation
from curation.storage.feeds import Store
from tests.helpers.api import Actor, Api, open_api
from tests.helpers.settings import db_url, settings_for
from tests.helpers.web import page_csrf, sign_in
from tests.teams.conftest import (
    DAY1,
    World,
    world,  # noqa: F401 - the fixture
)


def _email(web: Api, actor: Actor) -> str:  # noqa: F811
    return web.people.get(actor.id).email


def _team_id(path: str) -> int:
    found = re.fullmatch(r"/workspace/teams/(\d+)", path)
    assert found, path
    return int(found.group(1))


def test_an_admin_creates_a_team_and_sets_its_members_by_email(web: Api) -> None:  # noqa: F811
    admin, ada, bob, cy = web.person("admin"), web.person(), web.person(), web.person()
    domain = web.app.state.domain.get()
    sign_in(web.client, admin.key)
    csrf = page_csrf(web.client, "/workspace/teams")
    assert "No teams yet." in web.client.get("/workspace/teams").text

    made = web.client.post("/workspace/teams", data={"csrf": csrf, "name": "  Platform  "})
    team = _team_id(made.url.path)  # straight to the new team's page
    assert "Team Platform created" in made.text and "No members yet." in made.text
    assert [t.name for t in domain.teams.list()] == ["Platform"]

    # one a line or comma-separated, any case; a lead is a member too
    members = f"{_email(web, ada).upper()}\n {_email(web, bob)} , {_email(web, cy)}\n\n"
    saved = web.client.post(
        f"/workspace/teams/{team}",
        data={"csrf": csrf, "action": "members", "members": members, "leads": _email(web, ada)},
    )
    assert saved.status_code == 200
    assert "Members saved: 3, of whom 1 lead." in saved.text
    _, stored = domain.teams.get(team)
    assert {(m.person_id, m.role) for m in stored} == {
        (ada.id, "lead"),
        (bob.id, "member"),
        (cy.id, "member"),
    }
    # the page shows them, and its fields hold the membership as it is now
    assert saved.text.count('<span class="badge">lead</span>') == 1
    members_field = re.search(r'<textarea name="members"[^>]*>([^<]*)</textarea>', saved.text)
    assert set(members_field.group(1).split()) == {_email(web, bob), _email(web, cy)}

    listed = web.client.get("/workspace/teams").text
    row = re.search(rf'<tr id="team-{team}">(.*?)</tr>', listed, re.S).group(1)
    assert '<td class="num">3</td>' in row and _email(web, ada) in row
    assert _email(web, bob) not in row  # leads only
    assert 'aria-current="page">Teams<' in listed

    # replacing the membership: Cy leaves, Bob becomes the lead
    web.client.post(
        f"/workspace/teams/{team}",
        data={
            "csrf": csrf,
            "action": "members",
            "members": _email(web, ada),
            "leads": _email(web, bob),
        },
    )
    _, stored = domain.teams.get(team)
    assert {(m.person_id, m.role) for m in stored} == {(ada.id, "member"), (bob.id, "lead")}


def test_an_unknown_address_is_named_and_changes_nothing(web: Api) -> None:  # noqa: F811
    admin, ada, bob = web.person("admin"), web.person(), web.person()
    domain = web.app.state.domain.get()
    team = domain.teams.create("Platform")
    domain.teams.set_members(team.id, [ada.id])
    sign_in(web.client, admin.key)
    csrf = page_csrf(web.client, f"/workspace/teams/{team.id}")
    typed = f"{_email(web, bob)}\nnobody@example.org, nobody-either@example.org"
    refused = web.client.post(
        f"/workspace/teams/{team.id}",
        data={"csrf": csrf, "action": "members", "members": typed, "leads": ""},
    )
    assert refused.status_code == 422
    flash = re.search(r'<p class="flash error"[^>]*>([^<]*)</p>', refused.text).group(1)
    assert "nobody has the address nobody@example.org, nobody-either@example.org" in flash
    assert typed in refused.text  # what was typed is kept to be corrected
    assert [m.person_id for m in domain.teams.get(team.id)[1]] == [ada.id]
    # an unknown lead too
    web.client.post(
        f"/workspace/teams/{team.id}",
        data={"csrf": csrf, "action": "members", "members": "", "leads": "ghost@example.org"},
    )
    assert [m.person_id for m in domain.teams.get(team.id)[1]] == [ada.id]


def test_an_admin_deletes_a_team(web: Api) -> None:  # noqa: F811
    admin, ada = web.person("admin"), web.person()
    domain = web.app.state.domain.get()
    keep, gone = domain.teams.create("Keep"), domain.teams.create("Gone")
    domain.teams.set_members(gone.id, [ada.id])
    sign_in(web.client, admin.key)
    csrf = page_csrf(web.client, "/workspace/teams")
    done = web.client.post(f"/workspace/teams/{gone.id}", data={"csrf": csrf, "action": "delete"})
    assert str(done.url.path) == "/workspace/teams" and "Team Gone deleted." in done.text
    assert [t.id for t in domain.teams.list()] == [keep.id]
    assert domain.teams.teams_of(ada.id) == []
    assert web.client.get(f"/workspace/teams/{gone.id}").status_code == 404
    again = web.client.post(f"/workspace/teams/{gone.id}", data={"csrf": csrf, "action": "delete"})
    assert "team" in again.text and 'class="flash error"' in again.text


def test_curators_and_learners_are_refused_as_on_the_people_page(web: Api) -> None:  # noqa: F811
    domain = web.app.state.domain.get()
    team = domain.teams.create("Platform")
    ada = web.person()
    for role in ("curator", "learner"):
        web.client.cookies.clear()
        sign_in(web.client, web.person(role).key)
        csrf = page_csrf(web.client, "/me")
        people = web.client.get("/workspace/people")
        for path in ("/workspace/teams", f"/workspace/teams/{team.id}"):
            answer = web.client.get(path)
            assert answer.status_code == people.status_code == 403, (role, path)
            assert f"this page needs the admin role (you are a {role})" in answer.text
        assert 'href="/workspace/teams"' not in people.text  # not offered in the bar
        tried = [
            ("/workspace/teams", {"csrf": csrf, "name": "Mine"}),
            (
                f"/workspace/teams/{team.id}",
                {"csrf": csrf, "action": "members", "members": _email(web, ada)},
            ),
            (f"/workspace/teams/{team.id}", {"csrf": csrf, "action": "delete"}),
        ]
        for path, form in tried:
            assert web.client.post(path, data=form).status_code == 403, (role, path)
    assert [(t.name, t.member_count) for t in domain.teams.list()] == [("Platform", 0)]


def test_a_form_without_the_csrf_token_changes_nothing(web: Api) -> None:  # noqa: F811
    admin, ada = web.person("admin"), web.person()
    domain = web.app.state.domain.get()
    team = domain.teams.create("Platform")
    sign_in(web.client, admin.key)
    for path, form in (
        ("/workspace/teams", {"name": "Forged"}),
        (f"/workspace/teams/{team.id}", {"action": "members", "members": _email(web, ada)}),
        (f"/workspace/teams/{team.id}", {"action": "delete", "csrf": "forged"}),
    ):
        answer = web.client.post(path, data=form)
        assert answer.status_code == 403 and "not sent from this site" in answer.text
    assert [(t.name, t.member_count) for t in domain.teams.list()] == [("Platform", 0)]


def test_the_teams_page_sends_as_many_statements_with_more_teams(web: Api) -> None:  # noqa: F811
    admin = web.person("admin")
    domain = web.app.state.domain.get()
    engine = domain.store.engine
    sign_in(web.client, admin.key)

    def grow(n: int, start: int) -> None:
        for i in range(start, start + n):
            lead, member = web.person(), web.person()
            team = domain.teams.create(f"Team {i}")
            domain.teams.set_members(team.id, [member.id], [lead.id])

    def count() -> int:
        sent: list[str] = []
        listen = lambda *args: sent.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            assert web.client.get("/workspace/teams").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        return len(sent)

    grow(2, 0)
    web.client.get("/workspace/teams")
    few = count()
    grow(8, 2)
    assert count() == few <= 6, few


def test_gem_forms_aim_at_teams_and_keep_them_when_not_shown(web: Api) -> None:  # noqa: F811
    curator, other = web.person("curator"), web.person("curator")
    domain = web.app.state.domain.get()
    platform, sales = domain.teams.create("Platform"), domain.teams.create("Sales")
    item = web.item("pytest fixtures")
    sign_in(web.client, curator.key)

    page = web.client.get(f"/workspace/items/{item}").text
    boxes = re.findall(r'<input type="checkbox" name="teams" value="(\d+)"([^>]*)>', page)
    assert sorted(int(v) for v, _ in boxes) == sorted([platform.id, sales.id])
    assert all("checked" not in rest for _, rest in boxes)  # none ticked by default

    csrf = page_csrf(web.client, f"/workspace/items/{item}")
    tagged = web.client.post(
        "/workspace/gems",
        data={
            "csrf": csrf,
            "item_id": str(item),
            "note": "For the platform people",
            "audience": "",
            "teams_shown": "1",
            "teams": [str(platform.id)],
        },
    )
    assert "tagged for Platform" in tagged.text
    (gem,) = web.gem_store.list(item_id=item).items
    assert (gem.audience, gem.teams) == ((), ((platform.id, "Platform"),))
    assert "for the team Platform" in tagged.text  # the item page lists the gem's team

    listed = web.client.get("/workspace/gems").text
    row = re.search(rf'<tr id="gem-{gem.id}">(.*?)</tr>', listed, re.S).group(1)
    assert "for Platform" in row
    ticked = re.findall(r'name="teams" value="(\d+)" checked', row)
    assert ticked == [str(platform.id)]

    # the edit form replaces the teams; a form that shows no team boxes leaves them be
    form = {"csrf": csrf, "action": "save", "note": "n", "audience": "", "teams_shown": "1"}
    web.client.post(f"/workspace/gems/{gem.id}", data={**form, "teams": [str(sales.id)]})
    assert web.gem_store.get(gem.id).teams == ((sales.id, "Sales"),)
    old_form = {k: v for k, v in form.items() if k != "teams_shown"}
    web.client.post(f"/workspace/gems/{gem.id}", data={**old_form, "note": "older form"})
    assert web.gem_store.get(gem.id).teams == ((sales.id, "Sales"),)
    assert web.gem_store.get(gem.id).note == "older form"
    bad = web.client.post(f"/workspace/gems/{gem.id}", data={**form, "teams": ["999999"]})
    assert "no such team: 999999" in bad.text
    assert web.gem_store.get(gem.id).teams == ((sales.id, "Sales"),)
    web.client.post(f"/workspace/gems/{gem.id}", data=form)  # no box ticked: no team
    assert web.gem_store.get(gem.id).teams == ()

    # another curator may not change them
    web.client.cookies.clear()
    sign_in(web.client, other.key)
    csrf = page_csrf(web.client, "/workspace/gems")
    refused = web.client.post(
        f"/workspace/gems/{gem.id}",
        data={**form, "csrf": csrf, "teams": [str(platform.id)]},
    )
    assert "only the curator who picked a gem" in refused.text
    assert web.gem_store.get(gem.id).teams == ()


def test_a_gem_tagged_for_a_team_reaches_its_members_digests(world: World) -> None:  # noqa: F811
    c = world.curation
    curator = world.person("Cathy", "leadership", role="curator")
    bob = world.person("Bob", "python testing")
    cy = world.person("Cy", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    c.teams.set_members(team.id, [bob.id])
    item = world.item_ids("garden")[0]  # nothing Bob declared an interest in
    with open_api(db_url(world.store)) as api:
        sign_in(api.client, c.people.rotate_key(curator.id))
        csrf = page_csrf(api.client, f"/workspace/items/{item}")
        tagged = api.client.post(
            "/workspace/gems",
            data={
                "csrf": csrf,
                "item_id": str(item),
                "note": "For the team",
                "teams_shown": "1",
                "teams": [str(team.id)],
            },
        )
        assert "tagged for Platform" in tagged.text
    bob_gems = [
        (e.item.id, e.why)
        for s in c.digests.today(bob, now=DAY1 + timedelta(minutes=5)).sections
        if s.key == "gems"
        for e in s.items
    ]
    assert bob_gems == [(item, "Recommended by your curators for the Platform team")]
    cy_view = c.digests.today(cy, now=DAY1 + timedelta(minutes=5))
    assert all(e.item.id != item for s in cy_view.sections for e in s.items)


def test_addresses_and_leads_are_read_alike_on_both_backends(any_store: Store) -> None:
    """What the page reads, on SQLite and PostgreSQL: addresses compared without regard to
    case (the exact spelling wins between two that differ only by case), every unknown one
    named; each team's leads in one read."""
    c = make_curation(settings_for(any_store), engine=any_store.engine)
    ada = c.people.create(NewPerson(email="Ada@Example.org", name="Ada"))[0]
    upper = c.people.create(NewPerson(email="BOB@example.org", name="Bob upper"))[0]
    lower = c.people.create(NewPerson(email="bob@example.org", name="Bob lower"))[0]
    found = c.people.ids_by_email([" ada@example.ORG ", "bob@example.org", "BOB@example.org"])
    assert found == {
        "ada@example.ORG": ada.id,
        "bob@example.org": lower.id,
        "BOB@example.org": upper.id,
    }
    with pytest.raises(InvalidInput, match="nobody has the address x@example.org, Bob@example.org"):
        c.people.ids_by_email(["ada@example.org", "x@example.org", "Bob@example.org"])
    assert c.people.ids_by_email([]) == {}

    one, two, none = (c.teams.create(n) for n in ("One", "Two", "None"))
    c.teams.set_members(one.id, [upper.id], [ada.id, lower.id])
    c.teams.set_members(two.id, [ada.id], [upper.id])
    leads = c.teams.leads_of([one.id, two.id, none.id])
    assert {t: [m.name for m in ms] for t, ms in leads.items()} == {
        one.id: ["Ada", "Bob lower"],
        two.id: ["Bob upper"],
    }
    c.close()
