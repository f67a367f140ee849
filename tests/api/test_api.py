"""The REST API through the real app, on SQLite and on PostgreSQL: what each endpoint does.

Who may call what is in test_api_authz.py, bad input in test_api_input.py, the schemathesis
run in test_api_schema.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from curation.cli.main import main as cli_main
from curation.storage.feeds import Store
from curation.storage.tables import Person
from tests.helpers.api import Api, open_api
from tests.helpers.feeds import rss
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import db_url
from tests.helpers.store import clean_item

PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# ---- people and keys ----------------------------------------------------------------------


def test_bootstrap_admin_from_the_cli_then_people_through_the_api(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CURATION_DATABASE_URL", api.settings.database_url)
    assert cli_main(["people", "add", "--email", "root@example.org", "--name", "Root",
                     "--role", "admin", "--interest", "learning analytics:2"]) == 0  # fmt: skip
    key = capsys.readouterr().out.split("shown once, keep it safe): ")[1].strip()
    admin = {"Authorization": f"Bearer {key}"}
    me = api.client.get("/v1/me", headers=admin).json()
    assert me["role"] == "admin" and me["interests"] == [
        {"phrase": "learning analytics", "weight": 2.0}
    ]

    created = api.client.post(
        "/v1/people",
        headers=admin,
        json={
            "email": "ada@example.org",
            "name": "Ada",
            "role": "learner",
            "timezone": "Europe/Paris",
            "digest_hour": 6,
            "interests": [{"phrase": "python testing", "weight": 1.5}],
            "mutes": ["crypto"],
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["id"] and body["api_key"].startswith("cur_")
    assert body["timezone"] == "Europe/Paris" and body["mutes"] == ["crypto"]
    with api.engine.connect() as conn:
        hashes = conn.execute(select(Person.api_key_hash)).scalars().all()
    assert body["api_key"] not in hashes  # only a hash is stored
    ada = {"Authorization": f"Bearer {body['api_key']}"}
    assert api.client.get("/v1/me", headers=ada).json()["email"] == "ada@example.org"
    assert "api_key" not in api.client.get(f"/v1/people/{body['id']}", headers=admin).json()

    problem(api.client.post("/v1/people", headers=admin, json={"email": "ada@example.org",
                                                                "name": "Again"}), 409)  # fmt: skip

    assert cli_main(["people", "list"]) == 0
    assert "ada@example.org" in capsys.readouterr().out


def test_people_list_is_paginated_by_cursor(api: Api) -> None:
    admin = api.person("admin")
    for _ in range(4):
        api.person()
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.client.get("/v1/people", headers=admin.headers, params=params).json()
        assert len(page["people"]) <= 2
        seen += [p["id"] for p in page["people"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 5


def test_admin_changes_and_deletes_people_but_not_itself(api: Api) -> None:
    admin, other = api.person("admin"), api.person("learner")
    url = f"/v1/people/{other.id}"
    changed = api.client.patch(url, headers=admin.headers, json={"role": "curator", "name": "Bo"})
    assert changed.status_code == 200 and changed.json()["role"] == "curator"
    assert api.client.get("/v1/items", headers=other.headers).status_code == 200  # now a curator
    # the key's holder is now cached; a change through the API applies at once all the same
    demoted = api.client.patch(url, headers=admin.headers, json={"role": "learner"})
    assert demoted.status_code == 200
    problem(api.client.get("/v1/items", headers=other.headers), 403)
    api.client.patch(url, headers=admin.headers, json={"role": "curator"})

    problem(api.client.patch(f"/v1/people/{admin.id}", headers=admin.headers,
                             json={"role": "learner"}), 409)  # fmt: skip
    problem(api.client.delete(f"/v1/people/{admin.id}", headers=admin.headers), 409)
    assert api.client.patch(f"/v1/people/{admin.id}", headers=admin.headers,
                            json={"name": "Still admin"}).status_code == 200  # fmt: skip

    assert api.client.delete(url, headers=admin.headers).status_code == 204
    problem(api.client.get(url, headers=admin.headers), 404)
    problem(api.client.get("/v1/me", headers=other.headers), 401)  # the key died with them


def test_me_changes_only_its_own_safe_fields(api: Api) -> None:
    me = api.person("learner")
    changed = api.client.patch(
        "/v1/me",
        headers=me.headers,
        json={
            "name": "Ada L.",
            "timezone": "Asia/Tokyo",
            "digest_hour": 22,
            "email_digests": False,
        },
    )
    assert changed.status_code == 200
    assert changed.json() | {"id": 0, "email": "", "created_at": ""} == {
        "id": 0,
        "email": "",
        "created_at": "",
        "name": "Ada L.",
        "role": "learner",
        "timezone": "Asia/Tokyo",
        "digest_hour": 22,
        "email_digests": False,
        "interests": [],
        "mutes": [],
    }
    for field, value in [("role", "admin"), ("email", "x@example.org"), ("api_key_hash", "x"),
                         ("id", 1)]:  # fmt: skip
        body = problem(api.client.patch("/v1/me", headers=me.headers, json={field: value}), 422)
        assert body["errors"][0]["field"] == f"body.{field}"
    body = problem(api.client.patch("/v1/me", headers=me.headers, json={"name": None}), 422)
    assert body["errors"][0]["field"] == "body.name"
    assert api.client.get("/v1/me", headers=me.headers).json()["role"] == "learner"


def test_interests_mutes_and_feedback(api: Api) -> None:
    me = api.person("learner")
    item = api.item("a text")
    put = api.client.put(
        "/v1/me/interests",
        headers=me.headers,
        json=[{"phrase": "python  testing", "weight": 2}, {"phrase": "Python Testing"}],
    )
    assert put.status_code == 200
    assert put.json()["interests"] == [{"phrase": "Python Testing", "weight": 1.0}]
    mutes = api.client.put("/v1/me/mutes", headers=me.headers, json=["crypto", "sports"])
    assert mutes.json()["mutes"] == ["crypto", "sports"]
    assert api.client.put("/v1/me/mutes", headers=me.headers, json=[]).json()["mutes"] == []

    for signal in ("useful", "opened", "not_useful"):
        answer = api.client.post(
            "/v1/me/feedback", headers=me.headers, json={"item_id": item, "signal": signal}
        )
        assert answer.status_code == 200 and answer.json()["signal"] == signal
    assert [r.signal for r in api.people.reactions()[me.id]] == ["not_useful"]
    problem(api.client.post("/v1/me/feedback", headers=me.headers,
                            json={"item_id": item + 1000, "signal": "useful"}), 404)  # fmt: skip


def test_rotating_a_key_retires_the_old_one(api: Api) -> None:
    me, admin = api.person("curator"), api.person("admin")
    new = api.client.post("/v1/me/api-key", headers=me.headers).json()["api_key"]
    problem(api.client.get("/v1/me", headers=me.headers), 401)
    assert api.client.get("/v1/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    newer = api.client.post(f"/v1/people/{me.id}/api-key", headers=admin.headers).json()
    problem(api.client.get("/v1/me", headers={"Authorization": f"Bearer {new}"}), 401)
    assert (
        api.client.get("/v1/me", headers={"Authorization": f"Bearer {newer['api_key']}"}).json()[
            "id"
        ]
        == me.id
    )


@pytest.mark.parametrize("ttl", [5.0, 0.0])
def test_a_change_made_elsewhere_applies_within_the_key_cache_time(
    any_store: Store, ttl: float
) -> None:
    """CURATION_API_AUTH_CACHE_SECONDS reaches the app: with 0 every call is checked."""
    url = db_url(any_store)
    with open_api(url, api_auth_cache_seconds=ttl) as api:
        me = api.person("learner")
        assert api.client.get("/v1/me", headers=me.headers).status_code == 200
        api.people.delete(me.id)  # another process (the CLI, another worker) removes the person
        answer = api.client.get("/v1/me", headers=me.headers)
        if ttl:
            assert answer.status_code == 200  # remembered for up to ttl seconds, as documented
        else:
            problem(answer, 401)
    any_store.engine.dispose()


def test_missing_and_bad_keys_are_401_with_a_challenge(api: Api) -> None:
    api.person("admin")
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer cur_not-a-key"}):  # fmt: skip
        answer = api.client.get("/v1/me", headers=headers)
        problem(answer, 401)
        assert answer.headers["www-authenticate"] == "Bearer"


# ---- sources and ingest -------------------------------------------------------------------


def test_sources_add_list_delete_and_the_address_policy(api: Api) -> None:
    curator = api.person("curator")
    # check=false: no fetch (the host is not a real one; the check is in test_sources.py)
    added = api.client.post(
        "/v1/sources?check=false",
        headers=curator.headers,
        json={"url": "https://blog.example.org/feed", "title": "Blog", "category": "Tech/Py"},
    )
    assert added.status_code == 201
    source = added.json()
    page = api.client.get("/v1/sources", headers=curator.headers).json()
    assert page["next_cursor"] is None
    listed = page["items"]
    assert [s["id"] for s in listed] == [source["id"]]
    assert {"id", "url", "title", "status", "last_error", "error_count", "last_fetched_at",
            "item_count"} <= set(listed[0])  # fmt: skip
    assert listed[0]["status"] == "new" and listed[0]["item_count"] == 0
    problem(api.client.post("/v1/sources?check=false", headers=curator.headers,
                            json={"url": "https://blog.example.org/feed"}), 409)  # fmt: skip
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.1.2.3/feed",
                "file:///etc/passwd", "gopher://example.org/", "http://[::ffff:10.0.0.1]/"):  # fmt: skip
        body = problem(
            api.client.post("/v1/sources", headers=curator.headers, json={"url": url}), 422
        )
        assert "refused" in body["detail"] or "scheme" in body["detail"]

    assert api.client.get(f"/v1/sources/{source['id']}", headers=curator.headers).status_code == 200
    deleted = api.client.delete(f"/v1/sources/{source['id']}", headers=curator.headers)
    assert deleted.status_code == 204
    problem(api.client.delete(f"/v1/sources/{source['id']}", headers=curator.headers), 404)
    assert api.client.get("/v1/sources", headers=curator.headers).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_opml_import_skips_refused_addresses_and_export_round_trips(api: Api) -> None:
    curator = api.person("curator")
    opml = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>t</title></head><body>
  <outline text="Tech"><outline type="rss" text="A" xmlUrl="https://a.example.org/feed"/></outline>
  <outline type="rss" text="B" xmlUrl="https://b.example.org/feed"/>
  <outline type="rss" text="Internal" xmlUrl="http://192.168.1.10/feed"/>
  <outline type="rss" text="No URL"/>
</body></opml>"""
    headers = curator.headers | {"Content-Type": "text/x-opml"}
    result = api.client.post("/v1/sources/import", headers=headers, content=opml).json()
    assert result["added"] == 2 and result["already_present"] == 0
    assert any(s["url"] == "http://192.168.1.10/feed" for s in result["skipped"])
    again = api.client.post("/v1/sources/import", headers=headers, content=opml).json()
    assert again["added"] == 0 and again["already_present"] == 2

    exported = api.client.get("/v1/sources/export", headers=curator.headers)
    assert exported.headers["content-type"].startswith("text/x-opml")
    assert "https://a.example.org/feed" in exported.text and "192.168" not in exported.text
    problem(api.client.post("/v1/sources/import", headers=headers, content=b"<html/>"), 422)
    problem(api.client.post("/v1/sources/import", headers=headers, content=b"\x00\xff"), 422)


def test_ingest_endpoint_runs_a_cycle_and_counts_it(api: Api, feed_server: FeedServer) -> None:
    curator = api.person("curator")
    entries = [
        {"title": f"Post {n}", "link": f"https://example.org/p{n}", "guid": f"g{n}",
         "description": f"learning analytics note {n}"}
        for n in range(3)
    ]  # fmt: skip
    url = feed_server.add("/feed", body=rss("Feed", entries))
    assert (
        api.client.post("/v1/sources", headers=curator.headers, json={"url": url}).status_code
        == 201
    )
    summary = api.client.post("/v1/ingest", headers=curator.headers)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["sources"] == 1 and body["ok"] == 1 and body["new_items"] == 3
    assert body["outcomes"][0]["status"] == "ok" and "3 new items" in body["summary"]
    items = api.client.get("/v1/items", headers=curator.headers).json()["items"]
    assert {i["title"] for i in items} == {"Post 0", "Post 1", "Post 2"}
    assert items[0]["source"]["title"] == "Feed"
    metrics = api.client.get("/metrics").text
    assert "curation_ingest_runs_total 1" in metrics
    assert "curation_ingest_new_items_total 3" in metrics
    assert 'curation_ingest_sources_total{status="ok"} 1' in metrics


# ---- items and gems -----------------------------------------------------------------------


def test_items_filters_search_and_pages(api: Api) -> None:
    curator = api.person("curator")
    a, b = api.source(title="A"), api.source(title="B")
    old = datetime(2026, 10, 1, tzinfo=UTC)
    api.items(a, [clean_item("x1", text="measuring learning transfer")], now=old)
    api.items(a, [clean_item("x2", title="Coaching managers", text="feedback culture")])
    api.items(b, [clean_item("x3", text="learning in the flow of work"), clean_item("x2")])
    h = curator.headers

    def ids(**params: object) -> list[str]:
        answer = api.client.get("/v1/items", headers=h, params=params)
        assert answer.status_code == 200, answer.text
        return [i["url"].rsplit("/", 1)[1] for i in answer.json()["items"]]

    assert ids() == ["x3", "x2", "x1"]  # newest first
    # equal matches: the order is the backend's tie-break (relevance order: test_first_hour_defects)
    assert sorted(ids(q="learning")) == ["x1", "x3"]
    assert ids(q="learn flow") == ["x3"]  # stemmed, every word must appear
    assert ids(q="COACHING") == ["x2"]  # titles too, any case
    assert ids(q='"; DROP TABLE item; -- NEAR( title:x *') == []
    assert ids(source_id=b) == ["x3", "x2"]  # x2 came from A first, B carried it too
    assert ids(since="2026-10-15T00:00:00Z") == ["x3", "x2"]
    assert ids(since="2026-10-15T02:00:00+02:00") == ["x3", "x2"]
    assert ids(source_id=a, q="learning", since=old.isoformat()) == ["x1"]
    problem(api.client.get("/v1/items", headers=h, params={"source_id": 99999}), 404)

    first = api.client.get("/v1/items", headers=h, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    api.items(a, [clean_item("x4")])  # a new arrival does not shift the next page
    second = api.client.get("/v1/items", headers=h,
                            params={"limit": 2, "cursor": first["next_cursor"]}).json()  # fmt: skip
    assert [i["url"][-2:] for i in second["items"]] == ["x1"] and second["next_cursor"] is None

    x2 = next(i for i in first["items"] if i["url"].endswith("x2"))
    detail = api.client.get(f"/v1/items/{x2['id']}", headers=h).json()
    assert detail["source"] == {"id": a, "title": "A"}
    assert detail["sources"] == [{"id": a, "title": "A"}, {"id": b, "title": "B"}]
    assert detail["summary"] == "<p>feedback culture</p>" and "content" in detail
    problem(api.client.get("/v1/items/999999", headers=h), 404)


def test_gems_create_list_delete(api: Api) -> None:
    curator, other, admin = api.person("curator"), api.person("curator"), api.person("admin")
    item = api.item("text")
    created = api.client.post(
        "/v1/gems",
        headers=curator.headers,
        json={
            "item_id": item,
            "note": "Read this first.",
            "audience": ["New managers", "new  managers", "coaching"],
        },
    )
    assert created.status_code == 201, created.text
    gem = created.json()
    assert gem["audience"] == ["New managers", "coaching"]
    assert gem["curator"] == {"id": curator.id, "name": "A curator"}
    assert gem["item"]["id"] == item
    problem(api.client.post("/v1/gems", headers=curator.headers, json={"item_id": item}), 409)
    assert (
        api.client.post("/v1/gems", headers=other.headers, json={"item_id": item}).status_code
        == 201
    )
    problem(api.client.post("/v1/gems", headers=curator.headers, json={"item_id": item + 999}), 404)

    listed = api.client.get("/v1/gems", headers=curator.headers, params={"limit": 1}).json()
    assert len(listed["gems"]) == 1 and listed["next_cursor"]
    rest = api.client.get("/v1/gems", headers=curator.headers,
                          params={"limit": 1, "cursor": listed["next_cursor"]}).json()  # fmt: skip
    assert rest["gems"][0]["id"] == gem["id"]
    mine = api.client.get("/v1/gems", headers=curator.headers, params={"curator_id": curator.id})
    assert [g["id"] for g in mine.json()["gems"]] == [gem["id"]]

    problem(api.client.delete(f"/v1/gems/{gem['id']}", headers=other.headers), 403)
    assert api.client.delete(f"/v1/gems/{gem['id']}", headers=curator.headers).status_code == 204
    problem(api.client.get(f"/v1/gems/{gem['id']}", headers=curator.headers), 404)
    others = api.client.get("/v1/gems", headers=admin.headers).json()["gems"][0]
    assert api.client.delete(f"/v1/gems/{others['id']}", headers=admin.headers).status_code == 204


# ---- the edge: health, metrics, errors, limits, the module-level app ----------------------


def test_healthz_metrics_and_route_templates(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    curator = api.person("curator")
    api.client.get("/v1/items/12345", headers=curator.headers)
    api.client.get("/nope")
    metrics = api.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert (
        'curation_http_requests_total{method="GET",route="/v1/items/{item_id}",status="404"} 1'
        in text
    )
    assert 'route="unmatched",status="404"' in text and "12345" not in text
    # prometheus-client orders labels by name (le first), so the bucket is read with its parser
    healthz_inf = [
        s.value
        for family in text_string_to_metric_families(text)
        if family.name == "curation_http_request_duration_seconds"
        for s in family.samples
        if s.name.endswith("_bucket")
        and s.labels == {"method": "GET", "route": "/healthz", "le": "+Inf"}
    ]
    assert healthz_inf == [1]


def test_errors_are_problem_json(api: Api) -> None:
    problem(api.client.get("/nope"), 404)
    body = problem(api.client.delete("/v1/me"), 405)
    assert "GET" in body["detail"] and "PATCH" in body["detail"]
    admin = api.person("admin")
    body = problem(api.client.post("/v1/people", headers=admin.headers, json={"name": "x"}), 422)
    assert body["errors"] == [{"field": "body.email", "message": "Field required"}]
    body = problem(api.client.post("/v1/people", headers=admin.headers | {"Content-Type": "application/json"},
                                   content=b'{"email": '), 422)  # fmt: skip
    assert body["errors"][0]["field"] == "body" and "JSON" in body["detail"]


def test_oversize_bodies_are_413_declared_or_streamed(api: Api) -> None:
    small = open_api(api.settings.database_url, api_max_body_bytes=1000, api_max_opml_bytes=3000)
    with small as capped:
        admin = capped.person("admin")
        json_headers = admin.headers | {"Content-Type": "application/json"}
        big = b'{"email": "a@example.org", "name": "' + b"x" * 2000 + b'"}'
        answer = capped.client.post("/v1/people", headers=json_headers, content=big)
        assert problem(answer, 413)["detail"] == "request body larger than 1000 bytes"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield b'{"email": "a@example.org", "name": "'
            for _ in range(10):
                yield b"x" * 200
            yield b'"}'

        problem(capped.client.post("/v1/people", headers=json_headers, content=chunks()), 413)
        ok = b'{"email": "a@example.org", "name": "' + b"x" * 100 + b'"}'
        assert capped.client.post("/v1/people", headers=json_headers, content=ok).status_code == 201

        opml = b'<opml version="2.0"><body>' + b"<!-- pad -->" * 150 + b"</body></opml>"
        assert 1000 < len(opml) < 3000
        imported = capped.client.post("/v1/sources/import", headers=admin.headers, content=opml)
        assert imported.status_code == 200, imported.text
        problem(
            capped.client.post("/v1/sources/import", headers=admin.headers, content=opml * 3), 413
        )
        assert 'route="unmatched",status="413"' in capped.client.get("/metrics").text


def test_module_level_app_reads_the_environment_and_connects_lazily(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    import app.main

    monkeypatch.setenv("CURATION_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CURATION_API_MAX_BODY_BYTES", "4096")
    module = importlib.reload(app.main)
    try:
        assert module.app.state.settings.database_url == sqlite_url
        assert module.app.state.settings.api_max_body_bytes == 4096
        assert module.app.state.domain._domain is None  # no engine until the first request
    finally:
        monkeypatch.undo()
        importlib.reload(app.main)


def test_since_accepts_naive_and_offset_instants(api: Api) -> None:
    curator = api.person("curator")
    api.items(api.source(), [clean_item("n1")], now=datetime(2026, 11, 1, 12, tzinfo=UTC))
    later = (datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(seconds=1)).replace(tzinfo=None)
    for since, count in [("2026-11-01T12:00:00", 1), (later.isoformat(), 0),
                         ("2026-11-01T13:00:00+01:00", 1)]:  # fmt: skip
        answer = api.client.get("/v1/items", headers=curator.headers, params={"since": since})
        assert len(answer.json()["items"]) == count, since
