"""Teams and shares through the HTTP API on a real database: the contract, the roles and the
over-sharing guard (budget with its 429, one share per team, notes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from curation.storage.feeds import Store
from tests.helpers.api import Actor, Api, open_api
from tests.helpers.settings import db_url


@pytest.fixture
def api(any_store: Store) -> Iterator[Api]:
    with open_api(db_url(any_store), share_weekly_budget=3) as api:
        yield api
    any_store.engine.dispose()


def _team(api: Api, admin: Actor, name: str, *members: Actor, leads: tuple = ()) -> int:
    made = api.client.post("/v1/teams", json={"name": name}, headers=admin.headers)
    assert made.status_code == 201, made.text
    team_id = made.json()["id"]
    body = {"person_ids": [m.id for m in members], "lead_ids": [m.id for m in leads]}
    put = api.client.put(f"/v1/teams/{team_id}/members", json=body, headers=admin.headers)
    assert put.status_code == 200, put.text
    return team_id


def test_admins_manage_teams_and_people_see_their_own(api: Api) -> None:
    admin, ada, bob = api.person("admin"), api.person(), api.person()
    platform = _team(api, admin, "Platform", ada, bob, leads=(ada,))
    sales = _team(api, admin, "Sales", bob)
    detail = api.client.get(f"/v1/teams/{platform}", headers=admin.headers).json()
    assert detail["name"] == "Platform" and detail["member_count"] == 2
    assert {(m["person_id"], m["role"]) for m in detail["members"]} == {
        (ada.id, "lead"),
        (bob.id, "member"),
    }
    listed = api.client.get("/v1/teams", headers=api.person("curator").headers).json()["teams"]
    assert {(t["name"], t["member_count"]) for t in listed} == {("Platform", 2), ("Sales", 1)}
    mine = api.client.get("/v1/me/teams", headers=ada.headers).json()["teams"]
    assert [(t["id"], t["role"]) for t in mine] == [(platform, "lead")]
    bobs = api.client.get("/v1/me/teams", headers=bob.headers).json()["teams"]
    assert {t["id"] for t in bobs} == {platform, sales}
    # replacing the membership: Bob leaves Platform
    api.client.put(
        f"/v1/teams/{platform}/members", json={"person_ids": [ada.id]}, headers=admin.headers
    )
    assert {
        t["id"] for t in api.client.get("/v1/me/teams", headers=bob.headers).json()["teams"]
    } == {sales}
    # a team name once; an unknown person is a 422 naming them and changes nothing
    again = api.client.post("/v1/teams", json={"name": "Platform"}, headers=admin.headers)
    assert again.status_code == 409
    bad = api.client.put(
        f"/v1/teams/{platform}/members",
        json={"person_ids": [bob.id, 999999]},
        headers=admin.headers,
    )
    assert bad.status_code == 422 and "999999" in bad.json()["detail"]
    assert (
        api.client.get(f"/v1/teams/{platform}", headers=admin.headers).json()["member_count"] == 1
    )
    assert api.client.delete(f"/v1/teams/{sales}", headers=admin.headers).status_code == 204
    assert api.client.get(f"/v1/teams/{sales}", headers=admin.headers).status_code == 404


def test_learners_and_curators_cannot_create_teams(api: Api) -> None:
    for role in ("learner", "curator"):
        answer = api.client.post("/v1/teams", json={"name": role}, headers=api.person(role).headers)
        assert answer.status_code == 403
    assert api.client.get("/v1/teams", headers=api.person("admin").headers).json()["teams"] == []


def test_share_contract_and_one_share_per_team(api: Api) -> None:
    admin, ada, bob = api.person("admin"), api.person(), api.person()
    team = _team(api, admin, "Platform", ada, bob)
    item = api.item("pytest fixtures")
    made = api.client.post(
        "/v1/me/shares",
        json={"item_id": item, "team_id": team, "note": "Worth it"},
        headers=ada.headers,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert {k: body[k] for k in ("item_id", "team_id", "note")} == {
        "item_id": item,
        "team_id": team,
        "note": "Worth it",
    }
    assert body["id"] > 0 and datetime.fromisoformat(body["created_at"])
    # one share of an item per team, whoever shares it
    dup = api.client.post(
        "/v1/me/shares", json={"item_id": item, "team_id": team}, headers=bob.headers
    )
    assert dup.status_code == 409 and dup.headers["content-type"] == "application/problem+json"
    # a note is plain text up to 500 characters
    long = api.client.post(
        "/v1/me/shares",
        json={"item_id": api.item(), "team_id": team, "note": "x" * 501},
        headers=ada.headers,
    )
    assert long.status_code == 422
    unknown_item = api.client.post(
        "/v1/me/shares", json={"item_id": 999999, "team_id": team}, headers=ada.headers
    )
    assert unknown_item.status_code == 404
    unknown_team = api.client.post(
        "/v1/me/shares", json={"item_id": item, "team_id": 999999}, headers=ada.headers
    )
    assert unknown_team.status_code == 404


def test_nobody_shares_into_a_team_they_are_not_in(api: Api) -> None:
    admin, ada, cy = api.person("admin"), api.person(), api.person()
    team = _team(api, admin, "Platform", ada)
    for who in (cy, admin):  # not even an admin: sharing is a member's act
        answer = api.client.post(
            "/v1/me/shares", json={"item_id": api.item(), "team_id": team}, headers=who.headers
        )
        assert answer.status_code == 403, answer.text
    assert api.client.get("/v1/me/shares", headers=cy.headers).json()["shares"] == []


def test_weekly_budget_is_a_429_naming_the_budget_and_when_it_frees(api: Api) -> None:
    admin, ada = api.person("admin"), api.person()
    team = _team(api, admin, "Platform", ada)
    for _ in range(3):
        ok = api.client.post(
            "/v1/me/shares", json={"item_id": api.item(), "team_id": team}, headers=ada.headers
        )
        assert ok.status_code == 201
    first = api.client.get("/v1/me/shares", headers=ada.headers).json()
    assert first["budget_left"] == 0 and len(first["shares"]) == 3
    oldest = min(datetime.fromisoformat(s["created_at"]) for s in first["shares"])
    over = api.client.post(
        "/v1/me/shares", json={"item_id": api.item(), "team_id": team}, headers=ada.headers
    )
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    detail = over.json()["detail"]
    assert "at most 3 shares in any 7 days" in detail
    frees_at = oldest + timedelta(days=7)  # the oldest share of the window ages out
    assert f"possible from {frees_at:%Y-%m-%d %H:%M} UTC" in detail
    assert int(over.headers["retry-after"]) > 6 * 24 * 3600
    assert len(api.client.get("/v1/me/shares", headers=ada.headers).json()["shares"]) == 3


def test_people_see_and_withdraw_only_their_own_shares(api: Api) -> None:
    admin, ada, bob = api.person("admin"), api.person(), api.person()
    team = _team(api, admin, "Platform", ada, bob)
    share = api.client.post(
        "/v1/me/shares", json={"item_id": api.item(), "team_id": team}, headers=ada.headers
    ).json()
    assert api.client.get("/v1/me/shares", headers=bob.headers).json()["shares"] == []
    assert api.client.delete(f"/v1/me/shares/{share['id']}", headers=bob.headers).status_code == 404
    assert api.client.delete(f"/v1/me/shares/{share['id']}", headers=ada.headers).status_code == 204
    assert api.client.get("/v1/me/shares", headers=ada.headers).json()["shares"] == []
    # withdrawing freed the budget: nobody saw it
    assert api.client.get("/v1/me/shares", headers=ada.headers).json()["budget_left"] == 3


def test_gems_take_teams(api: Api) -> None:
    admin, curator, ada = api.person("admin"), api.person("curator"), api.person()
    team = _team(api, admin, "Platform", ada)
    made = api.client.post(
        "/v1/gems",
        json={"item_id": api.item(), "note": "n", "teams": [team]},
        headers=curator.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["teams"] == [{"id": team, "name": "Platform"}]
    assert made.json()["audience"] == []
    bad = api.client.post(
        "/v1/gems", json={"item_id": api.item(), "teams": [999999]}, headers=curator.headers
    )
    assert bad.status_code == 422 and "999999" in bad.json()["detail"]
