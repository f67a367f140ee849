"""A feed on another site cannot take over an article (curation.ingest.ownership): the feed
served from the article's own site shows its title, links and content, whoever published the
URL first, and the API's and the digest's item loader show that owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.ingest.ownership import site_of, speaks_for
from curation.ingest.pipeline import ingest
from curation.ingest.records import CleanItem
from curation.storage.feeds import FeedWrite, Store
from curation.storage.items import ItemQueries
from curation.storage.tables import Item, ItemSource
from tests.helpers.feeds import rss
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import settings_for
from tests.helpers.store import T0, clean_item, count

ARTICLE = "https://victim.example/2026/how-we-test"


def version(guid: str, title: str, url: str = ARTICLE, body: str = "") -> CleanItem:
    """One feed's version of the article (same canonical URL, whatever the tracking params)."""
    return clean_item(guid, title=title, text=body or title)._replace(
        dedupe_key=ARTICLE, url=url, content_hash=sha256(f"{guid}{title}{url}".encode()).hexdigest()
    )


HOSTILE = version("evil-1", "HACKED: send your password", f"{ARTICLE}?utm_source=x&ref=evil")
REAL = version("victim-1", "How we test", ARTICLE)


@pytest.fixture
def feeds(any_store: Store) -> tuple[Store, int, int]:
    victim = any_store.add_source("https://feeds.victim.example/all.xml").id
    hostile = any_store.add_source("https://evil.example/rss").id
    return any_store, victim, hostile


def save(store: Store, *writes: FeedWrite, now: datetime = T0) -> None:
    """Several feeds' fetches stored in one transaction, in this order."""
    results = store.save_feeds(list(writes), now=now, next_attempt_at=now)
    assert all(not isinstance(r, Exception) for r in results), results


def shown(store: Store) -> tuple[str, str | None, int | None]:
    """What every reader sees of the article: title, link and the source it is credited to."""
    with store.engine.connect() as conn:
        (item_id,) = conn.execute(Item.__table__.select().with_only_columns(Item.id)).one()
    record = ItemQueries(store.engine).records([item_id])[item_id]
    assert record.source is not None
    return record.title, record.url, record.source.id


def test_the_sites_own_feed_takes_over_an_article_a_foreign_feed_published_first(
    feeds: tuple[Store, int, int],
) -> None:
    store, victim, hostile = feeds
    save(store, FeedWrite(hostile, [HOSTILE]))
    assert shown(store)[2] == hostile  # nobody else has published it yet
    save(store, FeedWrite(victim, [REAL]), now=T0 + timedelta(hours=1))
    assert shown(store) == ("How we test", ARTICLE, victim)
    assert count(store, Item) == 1 and count(store, ItemSource) == 2  # both feeds carry it

    # the foreign feed keeps publishing its version: nobody sees it any more
    again = version("evil-1", "HACKED again", f"{ARTICLE}?utm_source=y")
    save(store, FeedWrite(hostile, [again]), now=T0 + timedelta(hours=2))
    assert shown(store) == ("How we test", ARTICLE, victim)
    # while the owner's updates still apply
    fixed = version("victim-1", "How we test, revised", ARTICLE)
    save(store, FeedWrite(victim, [fixed]), now=T0 + timedelta(hours=3))
    assert shown(store) == ("How we test, revised", ARTICLE, victim)


def test_a_foreign_feed_never_overwrites_the_sites_version(feeds: tuple[Store, int, int]) -> None:
    store, victim, hostile = feeds
    save(store, FeedWrite(victim, [REAL]))
    save(store, FeedWrite(hostile, [HOSTILE]), now=T0 + timedelta(hours=1))
    assert shown(store) == ("How we test", ARTICLE, victim)


def test_in_one_transaction_the_site_wins_and_search_sees_only_its_words(
    feeds: tuple[Store, int, int],
) -> None:
    store, victim, hostile = feeds
    hostile_first = version("evil-1", "Phishing bait", f"{ARTICLE}?utm_source=x", "phishing")
    real = version("victim-1", "Testing octopus", ARTICLE, "octopus")
    save(store, FeedWrite(hostile, [hostile_first]), FeedWrite(victim, [real]))
    assert shown(store) == ("Testing octopus", ARTICLE, victim)
    items = ItemQueries(store.engine)
    assert [r.title for r in items.list(q="octopus").items] == ["Testing octopus"]
    assert items.list(q="phishing").items == []


def test_between_two_feeds_of_the_site_the_first_keeps_it(any_store: Store) -> None:
    first = any_store.add_source("https://victim.example/feed.xml").id
    second = any_store.add_source("https://www.victim.example/atom.xml").id
    save(any_store, FeedWrite(first, [REAL]))
    save(any_store, FeedWrite(second, [version("v2", "Other title")]), now=T0 + timedelta(hours=1))
    assert shown(any_store) == ("How we test", ARTICLE, first)


def test_an_article_whose_owner_was_deleted_is_adopted(feeds: tuple[Store, int, int]) -> None:
    store, victim, hostile = feeds
    save(store, FeedWrite(victim, [REAL]))
    store.delete_source(victim)
    other = store.add_source("https://aggregator.example/feed").id
    save(store, FeedWrite(other, [version("agg-1", "Via the aggregator")]))
    assert shown(store)[1:] == (ARTICLE, other)


def test_the_site_is_where_the_feed_was_served_from_not_what_it_claims(
    feeds: tuple[Store, int, int],
) -> None:
    """A feed's self-declared home page is the feed's word: it does not make it the site."""
    store, victim, hostile = feeds
    save(store, FeedWrite(victim, [REAL]))
    claim = FeedWrite(hostile, [HOSTILE], html_url="https://victim.example/")
    save(store, claim, now=T0 + timedelta(hours=1))
    assert shown(store)[2] == victim


def test_sites_by_registrable_domain() -> None:
    assert site_of("https://feeds.example.co.uk/rss") == "example.co.uk"
    assert speaks_for("https://feeds.victim.example/x", "https://www.victim.example/a")
    assert not speaks_for("https://evil.example/x", "https://victim.example/a")
    # private registries count: one github.io site does not speak for another
    assert not speaks_for("https://evil.github.io/feed", "https://victim.github.io/post")
    assert speaks_for("http://127.0.0.1:8080/feed", "http://127.0.0.1/post")
    assert not speaks_for("http://127.0.0.2/feed", "http://127.0.0.1/post")
    assert not speaks_for(None, ARTICLE) and not speaks_for("https://x.example/", None)
    assert site_of("not a url") is None


def test_through_ingest_the_api_and_digest_loader_show_the_sites_version(
    any_store: Store, feed_server: FeedServer
) -> None:
    """Two real feeds on two hosts of the loopback: ``localhost`` (the foreign one) and
    ``127.0.0.1`` (the site, whose article it is)."""
    article = feed_server.url("/articles/1")
    hostile_body = rss("Evil", [{"title": "HACKED", "link": article + "?utm_medium=rss"}])
    real_body = rss("Site", [{"title": "The real title", "link": article, "guid": "s1"}])
    hostile_url = feed_server.add("/evil.xml", body=hostile_body).replace("127.0.0.1", "localhost")
    site_url = feed_server.add("/site.xml", body=real_body)
    settings = settings_for(any_store, fetch_allow_hosts="127.0.0.1,::1,localhost")
    hostile = any_store.add_source(hostile_url).id
    ingest(any_store, settings, now=T0.replace(tzinfo=UTC))
    site = any_store.add_source(site_url).id
    ingest(any_store, settings, now=T0 + timedelta(hours=1))
    assert shown(any_store) == ("The real title", article, site)
    page = ItemQueries(any_store.engine).list(source_id=hostile)
    assert [r.title for r in page.items] == ["The real title"]  # its readers see the site's


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.from_regex(r"https?://[^/\s]{0,40}/?", fullmatch=True)))
def test_site_of_never_raises_and_is_lower_case(url: str) -> None:
    site = site_of(url)
    assert site is None or (site == site.lower() and "/" not in site)
    assert speaks_for(url, url) == (site is not None)
