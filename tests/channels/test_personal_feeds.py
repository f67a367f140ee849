"""Each person's private digest feed: ``/v1/me/feeds`` and the token URLs it shows. The feeds
parse with feedparser and with our own ingest (served on loopback), carry one entry per picked
item with its why and the curator's note, keep their entry ids, rotate, and show a person only
their own digests. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import select, update

from app.main import create_app
from curation.ingest.parse import parse_feed
from curation.services import make_curation
from curation.storage.tables import Digest, Item, ItemSource
from tests.helpers.api import Api, open_api
from tests.helpers.digests import record_digest
from tests.helpers.net import free_port
from tests.helpers.served import served
from tests.helpers.settings import db_url, make_settings
from tests.helpers.store import clean_item

D = Digest.__table__


def path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def digest(api: Api, person, items, *, day: str, filled: datetime, **kw):  # noqa: ANN001
    """A recorded digest of ``items`` (id, title) for ``person``, last filled at ``filled``."""
    view = record_digest(api.engine, person, items, day=day, **kw)
    with api.engine.begin() as conn:
        conn.execute(update(D).where(D.c.id == view.id).values(window_end=filled))
    return view


@pytest.fixture
def two_people(api: Api):
    ada, bob = api.person(), api.person()
    ids = api.items(
        api.source(title="Blog"),
        [clean_item(f"pf{n}", title=f"Story {n}", text=f"text {n}") for n in range(5)],
    )
    now = datetime.now(UTC).replace(microsecond=0)
    digest(
        api,
        ada,
        [(ids[0], "Story 0"), (ids[1], "Story 1")],
        day="2026-12-01",
        filled=now - timedelta(days=3),
        gem_note="Read the second half first.",
    )
    digest(
        api,
        ada,
        [(ids[2], "Story 2")],
        day="2026-12-03",
        filled=now - timedelta(days=1),
        gem_note=None,
        why="you asked about testing",
    )
    digest(api, ada, [(ids[3], "Story 3")], day="2026-10-01", filled=now - timedelta(days=60))
    digest(api, bob, [(ids[4], "Story 4")], day="2026-12-03", filled=now - timedelta(hours=5))
    return ada, bob, ids, now


def test_urls_are_absolute_stable_rotatable_and_need_no_key(api: Api, two_people) -> None:
    ada, bob, _ids, _now = two_people
    c = api.client
    assert c.get("/v1/me/feeds").status_code == 401
    first = c.get("/v1/me/feeds", headers=ada.headers)
    assert first.status_code == 200, first.text
    urls = first.json()
    base = api.settings.base_url
    assert urls["atom_url"].startswith(base + "/v1/digest-feeds/")
    assert urls["atom_url"].endswith(".atom") and urls["json_url"].endswith(".json")
    assert urls["json_url"][: -len(".json")] == urls["atom_url"][: -len(".atom")]
    assert c.get("/v1/me/feeds", headers=ada.headers).json() == urls  # the same until rotated
    assert c.get("/v1/me/feeds", headers=bob.headers).json() != urls

    atom = c.get(path(urls["atom_url"]))  # no Authorization header
    assert atom.status_code == 200
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert atom.headers["cache-control"].startswith("private")
    ids_before = [e.id for e in feedparser.parse(atom.content).entries]

    rotated = c.post("/v1/me/feeds/rotate", headers=ada.headers)
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["atom_url"] != urls["atom_url"] and new["json_url"] != urls["json_url"]
    assert c.get(path(urls["atom_url"])).status_code == 404
    assert c.get(path(urls["json_url"])).status_code == 404
    assert c.get("/v1/me/feeds", headers=ada.headers).json() == new
    again = c.get(path(new["atom_url"]))
    assert again.status_code == 200
    # entry ids do not depend on the token: a reader that re-subscribes sees no duplicates
    assert [e.id for e in feedparser.parse(again.content).entries] == ids_before
    assert c.post("/v1/me/feeds/rotate").status_code == 401

    assert c.get("/v1/digest-feeds/not-a-token.atom").status_code == 404
    assert c.get("/v1/digest-feeds/" + "A" * 32 + ".atom").status_code == 404
    assert c.get("/v1/digest-feeds/" + "A" * 32 + ".json").status_code == 404


def test_the_feed_holds_the_persons_digests_with_why_and_note(api: Api, two_people) -> None:
    ada, bob, ids, now = two_people
    c = api.client
    urls = c.get("/v1/me/feeds", headers=ada.headers).json()
    body = c.get(path(urls["atom_url"])).content
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    # newest digest first, one entry per picked item; the 60-day-old digest is past the window
    # and Bob's digest is not Ada's
    # (in the digest's order: "for you" first, then the gems)
    assert [e.title for e in parsed.entries] == ["Story 2", "Story 1", "Story 0"]
    assert [e.link for e in parsed.entries] == [f"https://example.org/{ids[n]}" for n in (2, 1, 0)]
    story2, story1, story0 = parsed.entries
    assert "Why: you asked about testing (Story 2)" in story2.summary
    assert "Why: matches your interest in testing (Story 0)" in story0.summary
    assert "Curator's note (Grace): Read the second half first." in story0.summary
    assert "Curator's note" not in story1.summary
    # the feed's updated is when the newest digest was filled
    updated = datetime(*parsed.feed.updated_parsed[:6], tzinfo=UTC)
    assert updated == now - timedelta(days=1)
    assert len({e.id for e in parsed.entries}) == 3
    assert c.get(path(urls["atom_url"])).content == body  # stable across requests

    ours = parse_feed(body, url=urls["atom_url"])  # our own ingest's parser
    assert [e.link for e in ours.entries] == [f"https://example.org/{ids[n]}" for n in (2, 1, 0)]

    js = c.get(path(urls["json_url"]))
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/feed+json")
    doc = json.loads(js.content)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["id"] for i in doc["items"]] == [e.id for e in parsed.entries]
    assert [i["url"] for i in doc["items"]] == [f"https://example.org/{ids[n]}" for n in (2, 1, 0)]
    assert doc["items"][2]["_curation"]["curator_note"] == "Read the second half first."
    # (feedparser 6.0 reads no JSON Feed; our own ingest's parser does)
    ours_json = parse_feed(js.content, url=urls["json_url"])
    assert ours_json.version.startswith("json")
    assert [e.title for e in ours_json.entries] == ["Story 2", "Story 1", "Story 0"]

    bobs = feedparser.parse(
        c.get(path(c.get("/v1/me/feeds", headers=bob.headers).json()["atom_url"])).content
    )
    assert [e.title for e in bobs.entries] == ["Story 4"]
    assert not {e.id for e in bobs.entries} & {e.id for e in parsed.entries}


def test_a_person_without_digests_gets_an_empty_valid_feed(api: Api) -> None:
    carol = api.person()
    urls = api.client.get("/v1/me/feeds", headers=carol.headers).json()
    parsed = feedparser.parse(api.client.get(path(urls["atom_url"])).content)
    assert not parsed.bozo and parsed.entries == [] and parsed.feed.updated_parsed
    doc = json.loads(api.client.get(path(urls["json_url"])).content)
    assert doc["items"] == []


# ---- our own ingest subscribes to a personal feed, over loopback ----------------------------------


def test_our_ingest_subscribes_to_a_personal_feed(any_store) -> None:
    port = free_port()
    url = db_url(any_store)
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(url, public_base_url=base, secret_key="s" * 32)
    with open_api(url, public_base_url=base) as api:
        ada = api.person()
        ids = api.items(api.source(), [clean_item(f"in{n}", title=f"Read {n}") for n in range(2)])
        now = datetime.now(UTC)
        digest(
            api,
            ada,
            [(ids[0], "Read 0"), (ids[1], "Read 1")],
            day="2026-12-05",
            filled=now - timedelta(hours=2),
        )
        feed_url = api.client.get("/v1/me/feeds", headers=ada.headers).json()["atom_url"]
        domain = make_curation(settings)
        try:
            with served(create_app(settings), port):
                added = domain.sources.add(feed_url)  # checked: a feed is found there
                assert added.check is not None and added.check.version == "atom10"
                assert added.check.entries == 2
                summary = domain.ingest()
        finally:
            domain.close()
        assert summary.count("ok") == 1, summary.line()
        with api.engine.connect() as conn:
            carried = conn.execute(
                select(Item.title, Item.url)
                .join(ItemSource, ItemSource.item_id == Item.id)
                .where(ItemSource.source_id == added.source.id)
                .order_by(Item.title)
            ).all()
        # the digest's articles (as the digest links them), stored from the personal feed
        assert [tuple(r) for r in carried] == [
            ("Read 0", f"https://example.org/{ids[0]}"),
            ("Read 1", f"https://example.org/{ids[1]}"),
        ]
