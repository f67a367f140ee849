"""The workspace's forms over HTTP (no browser): sources (add with a check, OPML in and out,
rename, recategorise, pause, resume, delete), gems (edit, remove, only one's own) and
collections (add, remove, rotate the token), each through the same domain as the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from curation.storage.feeds import FeedWrite
from tests.helpers.api import Api
from tests.helpers.feeds import rss, rss_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.web import csrf_of, page_csrf, sign_in

OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
<outline text="Learning"><outline type="rss" text="One" xmlUrl="http://127.0.0.1:9/one.xml"/>
<outline type="rss" text="Two" xmlUrl="http://127.0.0.1:9/two.xml"/></outline>
<outline type="rss" text="Inside" xmlUrl="http://169.254.169.254/latest.xml"/>
</body></opml>"""


def test_sources_add_checked_import_export_and_change(web: Api, feed_server: FeedServer) -> None:
    sign_in(web.client, web.person("curator").key)
    csrf = page_csrf(web.client, "/workspace/sources")

    not_feed = feed_server.add(
        "/page", body=b"<html><body>no feed</body></html>", content_type="text/html"
    )
    refused = web.client.post("/workspace/sources", data={"csrf": csrf, "url": not_feed})
    assert 'class="flash error"' in refused.text
    assert web.store.list_sources() == []

    feed = feed_server.add("/feed.xml", body=rss("Feed title", rss_items(2)))
    added = web.client.post("/workspace/sources", data={"csrf": csrf, "url": feed})
    assert "Added source" in added.text and "Feed title" in added.text

    imported = web.client.post(
        "/workspace/sources/import",
        data={"csrf": csrf},
        files={"opml": ("feeds.opml", OPML, "text/x-opml")},
    )
    assert "imported 2 new sources" in imported.text
    assert "line 4: refused" in imported.text  # the skipped outline, and why
    assert "169.254.169.254" not in {s.url for s in web.store.list_sources()}
    exported = web.client.get("/workspace/sources/export")
    assert exported.headers["content-type"].startswith("text/x-opml")
    assert b"http://127.0.0.1:9/one.xml" in exported.content

    one = next(s for s in web.store.list_sources() if s.url.endswith("/one.xml"))
    web.client.post(
        f"/workspace/sources/{one.id}",
        data={"csrf": csrf, "action": "save", "title": "Renamed", "category": "A/B"},
    )
    web.client.post(f"/workspace/sources/{one.id}", data={"csrf": csrf, "action": "pause"})
    changed = web.store.get_source(one.id)
    assert (changed.title, changed.category, changed.active) == ("Renamed", "A/B", False)
    web.client.post(f"/workspace/sources/{one.id}", data={"csrf": csrf, "action": "resume"})
    assert web.store.get_source(one.id).active is True
    web.client.post(f"/workspace/sources/{one.id}", data={"csrf": csrf, "action": "delete"})
    assert one.id not in {s.id for s in web.store.list_sources()}


def test_the_sources_page_masks_credentials_and_shows_times_to_the_minute(web: Api) -> None:
    source = web.store.add_source("http://reader:s3cret@127.0.0.1:9/private.xml", title="Private")
    fetched = datetime(2026, 12, 7, 5, 20, 59, 999_000, tzinfo=UTC)
    web.store.save_feeds(
        [FeedWrite(source.id, [])], now=fetched, next_attempt_at=fetched + timedelta(hours=1)
    )
    sign_in(web.client, web.person("curator").key)
    page = web.client.get("/workspace/sources").text
    assert "http://reader:***@127.0.0.1:9/private.xml" in page
    assert "s3cret" not in page
    assert "2026-12-07 05:20 UTC" in page and "2026-12-07 06:20 UTC" in page  # fetched, next


def test_gems_are_edited_and_removed_only_by_their_curator(web: Api) -> None:
    mine, other = web.person("curator"), web.person("curator")
    my_gem, their_gem = web.gem(mine), web.gem(other)
    sign_in(web.client, mine.key)
    csrf = page_csrf(web.client, "/workspace/gems")
    web.client.post(
        f"/workspace/gems/{my_gem}",
        data={"csrf": csrf, "action": "save", "note": "better note", "audience": "a, b\nc"},
    )
    edited = web.gem_store.get(my_gem)
    assert (edited.note, edited.audience) == ("better note", ("a", "b", "c"))
    refused = web.client.post(
        f"/workspace/gems/{their_gem}", data={"csrf": csrf, "action": "delete"}
    )
    assert "only the curator who picked a gem" in refused.text
    assert web.gem_store.get(their_gem).id == their_gem
    web.client.post(f"/workspace/gems/{my_gem}", data={"csrf": csrf, "action": "delete"})
    assert [g.id for g in web.gem_store.list().items] == [their_gem]


def test_collections_take_gems_and_rotate_their_public_token(web: Api) -> None:
    curator = web.person("curator")
    gem = web.gem(curator)
    sign_in(web.client, curator.key)
    csrf = page_csrf(web.client, "/workspace/collections")
    made = web.client.post(
        "/workspace/collections", data={"csrf": csrf, "name": "Picks", "description": "d"}
    )
    page_path = str(made.url.path)
    assert re.fullmatch(r"/workspace/collections/\d+", page_path)
    web.client.post(page_path, data={"csrf": csrf, "action": "add", "gem_id": str(gem)})
    shown = web.client.get(page_path).text
    atom = re.search(r'id="atom-url" href="([^"]+)"', shown).group(1)
    feed = web.client.get("/" + atom.split("://", 1)[1].split("/", 1)[1])
    assert feed.status_code == 200 and b"read this" in feed.content

    web.client.post(page_path, data={"csrf": csrf, "action": "rotate"})
    rotated = re.search(r'id="atom-url" href="([^"]+)"', web.client.get(page_path).text).group(1)
    assert rotated != atom
    old_path = "/" + atom.split("://", 1)[1].split("/", 1)[1]
    assert web.client.get(old_path).status_code == 404

    web.client.post(page_path, data={"csrf": csrf, "action": "remove", "gem_id": str(gem)})
    assert "No gems in this collection yet" in web.client.get(page_path).text
    assert csrf_of(web.client.get(page_path).text) == csrf  # one token for the session


def test_items_are_searched_best_first_and_filtered_by_source_category_and_date(
    web: Api,
) -> None:
    from datetime import UTC, datetime

    from tests.helpers.store import clean_item

    tested = web.source(title="Tested")
    other = web.source(title="Other")
    web.store.update_source(tested, now=datetime.now(UTC), category="Engineering/Testing")
    web.store.update_source(other, now=datetime.now(UTC), category="Leadership")
    web.items(tested, [clean_item("t1", title="pytest pytest fixtures", text="pytest")])
    web.items(tested, [clean_item("t2", title="A note on pytest", text="gardening")])
    web.items(other, [clean_item("o1", title="pytest for managers", text="teams")])
    sign_in(web.client, web.person("curator").key)

    def titles(query: str) -> list[str]:
        html = web.client.get("/workspace/items?" + query).text
        return re.findall(r'<li><a href="/workspace/items/\d+">([^<]+)</a>', html)

    assert titles("q=pytest")[0] == "pytest pytest fixtures"  # best match first
    assert sorted(titles("q=pytest&category=Engineering")) == [
        "A note on pytest",
        "pytest pytest fixtures",
    ]  # a category holds the ones below it
    assert titles("category=Leadership") == ["pytest for managers"]
    assert titles(f"source_id={other}") == ["pytest for managers"]
    assert titles("since=2999-01-01") == []
    assert len(titles("since=2000-01-01")) == 3
