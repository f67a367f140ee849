"""``/v1/collections`` and the public feeds: curators order gems into a collection that any
reader can subscribe to (Atom parsed by feedparser and by our own ingest, JSON Feed 1.1), at a
URL whose token can be rotated. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import feedparser
import pytest
from sqlalchemy import select

from app.main import create_app
from curation.curate.collections import MAX_GEMS_PER_COLLECTION
from curation.ingest.parse import parse_feed
from curation.services import make_curation
from curation.storage.tables import ItemSource
from tests.helpers.api import Api, open_api
from tests.helpers.net import free_port
from tests.helpers.served import served
from tests.helpers.settings import db_url, make_settings
from tests.helpers.store import clean_item


def path(url: str) -> str:
    """The path of an absolute feed URL (the TestClient's host is not the base URL's)."""
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def setup(api: Api):
    curator = api.person("curator")
    source = api.source(title="Blog")
    ids = api.items(
        source,
        [clean_item(f"c{n}", title=f"Story {n}", text=f"text {n}") for n in range(3)],
    )
    gems = [
        api.gem_store.create(item_id=i, curator_id=curator.id, note=f"Note on {n} <b>&</b>").id
        for n, i in enumerate(ids)
    ]
    return curator, ids, gems


def test_curator_builds_an_ordered_collection(api: Api, setup) -> None:
    curator, _ids, gems = setup
    c = api.client
    made = c.post(
        "/v1/collections",
        json={"name": "  Onboarding  picks ", "description": "For new staff"},
        headers=curator.headers,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["name"] == "Onboarding picks"
    assert {"id", "name", "feed_url", "json_feed_url"} <= body.keys()
    base = api.settings.base_url
    assert body["feed_url"].startswith(base + "/v1/feeds/") and body["feed_url"].endswith(".atom")
    assert body["json_feed_url"] == body["feed_url"][: -len(".atom")] + ".json"
    cid = body["id"]

    for gem in (gems[2], gems[0], gems[1]):
        added = c.post(f"/v1/collections/{cid}/gems", json={"gem_id": gem}, headers=curator.headers)
        assert added.status_code == 200, added.text
    again = c.post(f"/v1/collections/{cid}/gems", json={"gem_id": gems[0]}, headers=curator.headers)
    assert again.status_code == 409
    missing = c.post(
        f"/v1/collections/{cid}/gems", json={"gem_id": 999999}, headers=curator.headers
    )
    assert missing.status_code == 404
    detail = c.get(f"/v1/collections/{cid}", headers=curator.headers).json()
    assert [g["id"] for g in detail["gems"]] == [gems[2], gems[0], gems[1]]

    moved = c.patch(
        f"/v1/collections/{cid}/gems/{gems[1]}", json={"position": 1}, headers=curator.headers
    )
    assert [g["id"] for g in moved.json()["gems"]] == [gems[1], gems[2], gems[0]]
    last = c.patch(
        f"/v1/collections/{cid}/gems/{gems[1]}", json={"position": 99}, headers=curator.headers
    )
    assert [g["id"] for g in last.json()["gems"]] == [gems[2], gems[0], gems[1]]
    assert (
        c.patch(
            f"/v1/collections/{cid}/gems/{gems[1]}", json={"position": 0}, headers=curator.headers
        ).status_code
        == 422
    )
    assert (
        c.delete(f"/v1/collections/{cid}/gems/{gems[0]}", headers=curator.headers).status_code
        == 204
    )
    assert (
        c.delete(f"/v1/collections/{cid}/gems/{gems[0]}", headers=curator.headers).status_code
        == 404
    )
    listed = c.get("/v1/collections", headers=curator.headers).json()["collections"]
    assert [(x["id"], x["gem_count"]) for x in listed] == [(cid, 2)]
    back = c.post(
        f"/v1/collections/{cid}/gems",
        json={"gem_id": gems[0], "position": 2},
        headers=curator.headers,
    )
    assert [g["id"] for g in back.json()["gems"]] == [gems[2], gems[0], gems[1]]
    assert c.get("/v1/collections/999999", headers=curator.headers).status_code == 404


def test_learners_may_not_and_bad_names_are_refused(api: Api, setup) -> None:
    curator, _ids, _gems = setup
    learner = api.person("learner")
    assert (
        api.client.post("/v1/collections", json={"name": "x"}, headers=learner.headers).status_code
        == 403
    )
    assert api.client.get("/v1/collections", headers=learner.headers).status_code == 403
    assert api.client.get("/v1/insights/interests", headers=learner.headers).status_code == 403
    for bad in (
        {"name": ""},
        {"name": "   "},
        {"name": "a\nb"},
        {"name": "x" * 101},
        {"name": "a\x00"},
    ):
        assert (
            api.client.post("/v1/collections", json=bad, headers=curator.headers).status_code == 422
        )


def test_the_feeds_are_public_parse_and_hold_the_gems(api: Api, setup) -> None:
    curator, ids, gems = setup
    c = api.client
    made = c.post(
        "/v1/collections",
        json={"name": "Picks", "description": "Best <of> week"},
        headers=curator.headers,
    ).json()
    for gem in (gems[1], gems[0]):
        c.post(f"/v1/collections/{made['id']}/gems", json={"gem_id": gem}, headers=curator.headers)

    atom = c.get(path(made["feed_url"]))  # no Authorization header
    assert atom.status_code == 200
    assert atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10" and parsed.feed.title == "Picks"
    assert [e.title for e in parsed.entries] == ["Story 1", "Story 0"]
    assert [e.link for e in parsed.entries] == ["https://example.org/c1", "https://example.org/c0"]
    assert parsed.entries[0].summary == "Note on 1 <b>&</b>"  # the note, as plain text
    assert parsed.entries[0].author == "A curator"
    assert parsed.entries[0].published_parsed is not None

    ours = parse_feed(atom.content, url=made["feed_url"])  # our own ingest's parser
    assert [e.link for e in ours.entries] == ["https://example.org/c1", "https://example.org/c0"]

    js = c.get(path(made["json_feed_url"]))
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/feed+json")
    doc = json.loads(js.content)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["url"] for i in doc["items"]] == ["https://example.org/c1", "https://example.org/c0"]
    assert doc["items"][0]["content_text"] == "Note on 1 <b>&</b>"
    assert parse_feed(js.content, url=made["json_feed_url"]).version.startswith("json")

    # a gem deleted leaves the feed at once (the rendered feed is not served stale)
    assert c.delete(f"/v1/gems/{gems[0]}", headers=curator.headers).status_code == 204
    left = feedparser.parse(c.get(path(made["feed_url"])).content)
    assert [e.title for e in left.entries] == ["Story 1"]
    c.post(f"/v1/collections/{made['id']}/gems", json={"gem_id": gems[2]}, headers=curator.headers)
    assert [
        i["title"] for i in json.loads(c.get(path(made["json_feed_url"])).content)["items"]
    ] == [
        "Story 1",
        "Story 2",
    ]
    atom = c.get(path(made["feed_url"]))

    # readers that poll: 304 when nothing changed
    again = c.get(path(made["feed_url"]), headers={"If-None-Match": atom.headers["etag"]})
    assert again.status_code == 304
    assert c.get("/v1/feeds/not-a-token.atom").status_code == 404
    assert c.get("/v1/feeds/" + "A" * 32 + ".atom").status_code == 404


def test_rotating_the_token_retires_the_old_urls(api: Api, setup) -> None:
    curator, _ids, gems = setup
    c = api.client
    made = c.post("/v1/collections", json={"name": "Picks"}, headers=curator.headers).json()
    c.post(f"/v1/collections/{made['id']}/gems", json={"gem_id": gems[0]}, headers=curator.headers)
    assert c.get(path(made["feed_url"])).status_code == 200
    rotated = c.post(f"/v1/collections/{made['id']}/rotate", headers=curator.headers)
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["feed_url"] != made["feed_url"]
    assert c.get(path(made["feed_url"])).status_code == 404
    assert c.get(path(made["json_feed_url"])).status_code == 404
    assert c.get(path(new["feed_url"])).status_code == 200
    # entry ids do not depend on the token: a reader that re-subscribes sees no duplicates
    assert feedparser.parse(c.get(path(new["feed_url"])).content).entries[0].id


def test_a_collection_holds_at_most_the_limit(api: Api, setup) -> None:
    curator, _ids, _gems = setup
    service = api.app.state.domain.get().collections
    made = service.create("Big", "", curator.id)
    source = api.source()
    items = api.items(source, [clean_item(f"big{n}") for n in range(MAX_GEMS_PER_COLLECTION + 1)])
    for item in items[:-1]:
        service.store.add_gem(
            made.id,
            api.gem_store.create(item_id=item, curator_id=curator.id).id,
            now=made.created_at,
        )
    last = api.gem_store.create(item_id=items[-1], curator_id=curator.id).id
    refused = api.client.post(
        f"/v1/collections/{made.id}/gems", json={"gem_id": last}, headers=curator.headers
    )
    assert refused.status_code == 422


# ---- our own ingest subscribes to a collection, over loopback -------------------------------------


def test_our_ingest_subscribes_to_a_collection_feed(any_store) -> None:
    port = free_port()
    url = db_url(any_store)
    settings = make_settings(url, public_base_url=f"http://127.0.0.1:{port}", secret_key="s" * 32)
    with open_api(url, public_base_url=f"http://127.0.0.1:{port}") as api:
        curator = api.person("curator")
        item = api.items(api.source(), [clean_item("sub1", title="Subscribed story")])[0]
        gem = api.gem(curator, item)
        made = api.client.post(
            "/v1/collections", json={"name": "Feed me"}, headers=curator.headers
        ).json()
        api.client.post(
            f"/v1/collections/{made['id']}/gems", json={"gem_id": gem}, headers=curator.headers
        )
        domain = make_curation(settings)
        try:
            with served(create_app(settings), port):
                added = domain.sources.add(made["feed_url"])  # checked: a feed is found there
                assert added.check is not None and added.check.version == "atom10"
                summary = domain.ingest()
        finally:
            domain.close()
        assert summary.count("ok") == 1, summary.line()
        with api.engine.connect() as conn:
            carried = (
                conn.execute(
                    select(ItemSource.item_id).where(ItemSource.source_id == added.source.id)
                )
                .scalars()
                .all()
            )
        # the gem's article, now carried by the collection's feed too (stored once)
        assert carried == [item]
