"""``PATCH /v1/gems/{gem_id}`` on SQLite and PostgreSQL: note, audience and teams changed by the
gem's curator or an admin (another curator: 403), an unknown team a 422 that changes nothing,
and a gem aimed at teams with no audience stays valid."""

from __future__ import annotations

from tests.helpers.api import Actor, Api


def _team(api: Api, admin: Actor, name: str, *members: Actor) -> int:
    made = api.client.post("/v1/teams", json={"name": name}, headers=admin.headers)
    assert made.status_code == 201, made.text
    body = {"person_ids": [m.id for m in members]}
    put = api.client.put(f"/v1/teams/{made.json()['id']}/members", json=body, headers=admin.headers)
    assert put.status_code == 200, put.text
    return made.json()["id"]


def _gem(api: Api, curator: Actor, **fields: object) -> dict:
    made = api.client.post(
        "/v1/gems", json={"item_id": api.item(), **fields}, headers=curator.headers
    )
    assert made.status_code == 201, made.text
    return made.json()


def test_the_gems_curator_changes_note_audience_and_teams(api: Api) -> None:
    admin, curator, ada = api.person("admin"), api.person("curator"), api.person()
    platform, sales = _team(api, admin, "Platform", ada), _team(api, admin, "Sales")
    gem = _gem(api, curator, note="first", audience=["coaching"])

    changed = api.client.patch(
        f"/v1/gems/{gem['id']}",
        json={"note": "second", "teams": [sales, platform]},
        headers=curator.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["id"], body["note"], body["audience"]) == (gem["id"], "second", ["coaching"])
    assert body["teams"] == [{"id": platform, "name": "Platform"}, {"id": sales, "name": "Sales"}]
    assert body["created_at"] == gem["created_at"]

    # only the audience: the note and teams stay; [] clears a list
    audience = api.client.patch(
        f"/v1/gems/{gem['id']}",
        json={"audience": ["mentoring", "Mentoring"]},
        headers=curator.headers,
    ).json()
    assert (audience["note"], audience["audience"]) == ("second", ["mentoring"])
    assert [t["id"] for t in audience["teams"]] == [platform, sales]
    cleared = api.client.patch(
        f"/v1/gems/{gem['id']}", json={"teams": []}, headers=curator.headers
    ).json()
    assert cleared["teams"] == [] and cleared["audience"] == ["mentoring"]
    stored = api.client.get(f"/v1/gems/{gem['id']}", headers=curator.headers).json()
    assert stored == cleared


def test_a_gem_for_teams_without_an_audience_stays_valid(api: Api) -> None:
    admin, curator, ada = api.person("admin"), api.person("curator"), api.person()
    platform = _team(api, admin, "Platform", ada)
    gem = _gem(api, curator, note="n", audience=["coaching"])
    answer = api.client.patch(
        f"/v1/gems/{gem['id']}",
        json={"audience": [], "teams": [platform]},
        headers=curator.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["audience"] == []
    assert answer.json()["teams"] == [{"id": platform, "name": "Platform"}]
    assert api.gem_store.get(gem["id"]).teams == ((platform, "Platform"),)


def test_another_curator_is_refused_and_an_admin_may(api: Api) -> None:
    admin, mine, other = api.person("admin"), api.person("curator"), api.person("curator")
    gem = _gem(api, mine, note="mine")
    refused = api.client.patch(
        f"/v1/gems/{gem['id']}", json={"note": "theirs"}, headers=other.headers
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "only the curator who picked a gem" in refused.json()["detail"]
    assert api.gem_store.get(gem["id"]).note == "mine"
    learner = api.client.patch(
        f"/v1/gems/{gem['id']}", json={"note": "x"}, headers=api.person().headers
    )
    assert learner.status_code == 403
    by_admin = api.client.patch(
        f"/v1/gems/{gem['id']}", json={"note": "by the admin"}, headers=admin.headers
    )
    assert by_admin.status_code == 200 and by_admin.json()["note"] == "by the admin"
    assert by_admin.json()["curator"]["id"] == mine.id


def test_an_unknown_team_or_bad_field_is_a_422_and_changes_nothing(api: Api) -> None:
    admin, curator = api.person("admin"), api.person("curator")
    platform = _team(api, admin, "Platform")
    gem = _gem(api, curator, note="kept", teams=[platform])
    bad = api.client.patch(
        f"/v1/gems/{gem['id']}",
        json={"note": "lost", "teams": [platform, 999999]},
        headers=curator.headers,
    )
    assert bad.status_code == 422 and "999999" in bad.json()["detail"]
    after = api.gem_store.get(gem["id"])
    assert (after.note, after.teams) == ("kept", ((platform, "Platform"),))
    for body, field in (
        ({"note": None}, "note"),
        ({"teams": [0]}, "teams"),
        ({"audience": [""]}, "audience"),
        ({"curator_id": admin.id}, "curator_id"),
    ):
        answer = api.client.patch(f"/v1/gems/{gem['id']}", json=body, headers=curator.headers)
        assert answer.status_code == 422, body
        assert field in str(answer.json()), body
    missing = api.client.patch("/v1/gems/987654", json={"note": "x"}, headers=curator.headers)
    assert missing.status_code == 404
