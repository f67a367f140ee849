"""Identity of stored items: a link-less entry keeps its identity when its source is deleted and
added again (and is not delivered again), and a feed whose GUIDs change on every fetch does not
multiply its stories but is flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hashlib import sha256

import pytest
from sqlalchemy import select, text

from curation.ingest.pipeline import ingest
from curation.ingest.records import CleanItem
from curation.people.records import NewPerson
from curation.services import make_curation
from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import FeedWrite, SaveResult, Store
from curation.storage.identity import CHURN_WARNING
from curation.storage.people import PeopleStore
from curation.storage.sources import item_key_of
from curation.storage.tables import Item, ItemSource
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import settings_for
from tests.helpers.store import T0, clean_item, count

FEED = "https://feeds.example.org/notes.xml"


def bare(source_id: int, guid: str, title: str, published: datetime = T0) -> CleanItem:
    """A link-less entry as the cleaner makes it (keyed ``src:<source id>:<guid>``)."""
    return clean_item(guid, title=title, published=published)._replace(
        url=None,
        dedupe_key=f"src:{source_id}:{guid}",
        content_hash=sha256(f"{title}{published}".encode()).hexdigest(),
    )


def linked(guid: str, path: str) -> CleanItem:
    return clean_item(path)._replace(guid=guid)


def save(store: Store, source_id: int, *items: CleanItem, now: datetime = T0) -> SaveResult:
    (result,) = store.save_feeds([FeedWrite(source_id, list(items))], now=now, next_attempt_at=now)
    assert isinstance(result, SaveResult), result
    return result


# ---- a source deleted and added again ------------------------------------------------------------


def test_link_less_items_keep_their_identity_when_the_source_is_added_again(
    any_store: Store,
) -> None:
    first = any_store.add_source(FEED).id
    assert save(any_store, first, bare(first, "n1", "Note one")).new == 1
    any_store.delete_source(first)
    again = any_store.add_source(FEED).id
    assert again != first  # ids are never reused
    result = save(any_store, again, bare(again, "n1", "Note one"), now=T0 + timedelta(days=1))
    assert (result.new, result.linked) == (0, 1)
    assert count(any_store, Item) == 1
    with any_store.engine.connect() as conn:
        key, origin = conn.execute(select(Item.dedupe_key, Item.origin_source_id)).one()
    assert key == f"{item_key_of(FEED)}:n1" and origin == again  # adopted by the new row
    # another feed's entry with the same GUID is another story
    other = any_store.add_source("https://other.example/feed").id
    assert save(any_store, other, bare(other, "n1", "Note one")).new == 1


LINKLESS = [it for it in topic_items("ll", 3) if it["link"].startswith("https://py.")]
OTHER_TOPICS = [it for it in topic_items("mx", 4) if not it["link"].startswith("https://py.")]


def linkless_feed() -> bytes:
    items = [{k: v for k, v in it.items() if k != "link"} for it in LINKLESS]
    return rss("Notes", items).replace(b"<guid>", b'<guid isPermaLink="false">')


def test_a_re_added_source_does_not_deliver_its_link_less_items_again(
    any_store: Store, feed_server: FeedServer
) -> None:
    day1 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    settings = settings_for(any_store, digest_max_items=10)
    url = feed_server.add("/notes", body=linkless_feed())
    # other topics, so the ranker has a corpus to tell python testing apart
    any_store.add_source(feed_server.add("/mixed", body=rss("Mixed", OTHER_TOPICS)))
    source = any_store.add_source(url).id
    ingest(any_store, settings, now=day1 - timedelta(hours=1))
    curation = make_curation(settings, engine=any_store.engine)
    assert curation.refit(now=day1)
    ada = PeopleStore(any_store.engine).create(
        NewPerson(email="ada@example.org", name="Ada", interests=[("python testing", 1.0)])
    )[0]
    first = curation.digests.today(ada, now=day1)
    delivered = {e.item.id for s in first.sections for e in s.items if e.item.url is None}
    assert delivered, "the link-less notes make the first digest"
    stored = count(any_store, Item)

    any_store.delete_source(source)
    any_store.add_source(url)
    ingest(any_store, settings, now=day1 + timedelta(hours=20))
    assert count(any_store, Item) == stored  # the same items, not new copies
    second = curation.digests.today(ada, now=day1 + timedelta(days=1))
    again = {e.item.id for s in second.sections for e in s.items}
    assert second.item_count == 0 and not again & delivered


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_the_migration_rekeys_link_less_items_of_existing_sources(db_url: str) -> None:
    upgrade(db_url, "0008")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO source (id, url, active, status, error_count, created_at) "
                "VALUES (5, :u, true, 'ok', 0, '2026-11-01 00:00:00')"
            ),
            {"u": FEED},
        )
        for key in ("src:5:n1", "src:9:gone", "https://example.org/a"):
            conn.execute(
                text(
                    "INSERT INTO item (dedupe_key, origin_source_id, title, summary_html, "
                    "content_html, text, first_seen_at, content_hash) "
                    "VALUES (:k, 5, 't', '', '', '', '2026-11-01 00:00:00', 'h')"
                ),
                {"k": key},
            )
    upgrade(db_url)
    upgrade(db_url)  # a second run changes nothing
    with engine.connect() as conn:
        keys = set(conn.execute(text("SELECT dedupe_key FROM item")).scalars())
        source_key = conn.execute(text("SELECT item_key FROM source")).scalar_one()
    assert source_key == item_key_of(FEED)
    assert keys == {f"{item_key_of(FEED)}:n1", "src:9:gone", "https://example.org/a"}


# ---- GUIDs that change on every fetch ------------------------------------------------------------


def test_new_guids_for_the_same_links_are_the_same_stories_and_flagged(any_store: Store) -> None:
    src = any_store.add_source(FEED).id
    save(any_store, src, *(linked(f"a{n}", f"p{n}") for n in range(4)))
    result = save(any_store, src, *(linked(f"b{n}", f"p{n}") for n in range(4)))
    assert (result.new, result.linked, result.rekeyed) == (0, 0, 4)
    assert result.warning is not None and result.warning.startswith(CHURN_WARNING)
    assert count(any_store, Item) == 4 and count(any_store, ItemSource) == 4
    assert any_store.get_source(src).warning == result.warning
    # a fetch with the ids of last time is healthy again
    calm = save(any_store, src, *(linked(f"b{n}", f"p{n}") for n in range(4)))
    assert (calm.new, calm.rekeyed, calm.warning) == (0, 0, None)
    assert any_store.get_source(src).warning is None


def test_new_guids_for_link_less_entries_match_by_title_and_date(any_store: Store) -> None:
    src = any_store.add_source(FEED).id
    save(any_store, src, bare(src, "x1", "Note one"), bare(src, "x2", "Note two"))
    result = save(any_store, src, bare(src, "y1", "Note one"), bare(src, "y2", "Note two"))
    assert (result.new, result.rekeyed) == (0, 2) and CHURN_WARNING in (result.warning or "")
    assert count(any_store, Item) == 2
    # same title, another date: another story
    later = bare(src, "y3", "Note one", published=T0 + timedelta(days=3))
    assert save(any_store, src, later).new == 1


def test_two_entries_sharing_a_link_are_not_taken_for_churn(any_store: Store) -> None:
    src = any_store.add_source(FEED).id
    both = [linked("g1", "p"), linked("g2", "p")]
    save(any_store, src, *both)
    assert save(any_store, src, *both).rekeyed == 0
    third = save(any_store, src, *both, linked("g3", "p"))
    assert (third.rekeyed, third.linked, third.warning) == (0, 1, None)


def test_a_feed_with_changing_ids_is_flagged_through_ingest(
    any_store: Store, feed_server: FeedServer
) -> None:
    settings = settings_for(any_store)
    items = topic_items("c", 2)
    url = feed_server.add("/churn", body=rss("Churn", items))
    any_store.add_source(url)
    first = ingest(any_store, settings, now=T0)
    assert first.new_items == 6 and first.outcomes[0].warning is None
    renamed = [{**it, "guid": it["guid"] + "-again"} for it in items]
    feed_server.add("/churn", body=rss("Churn", renamed))
    second = ingest(any_store, settings, now=T0 + timedelta(hours=2))
    (outcome,) = second.outcomes
    assert outcome.status == "ok" and outcome.new == 0
    assert outcome.warning and outcome.warning.startswith(CHURN_WARNING)
    assert count(any_store, Item) == 6


@pytest.mark.parametrize("n", [1])
def test_one_changed_id_in_a_big_feed_is_not_flagged(any_store: Store, n: int) -> None:
    src = any_store.add_source(FEED).id
    save(any_store, src, *(linked(f"a{k}", f"p{k}") for k in range(6)))
    result = save(
        any_store, src, *(linked(f"a{k}" if k >= n else f"b{k}", f"p{k}") for k in range(6))
    )
    assert (result.new, result.rekeyed, result.warning) == (0, n, None)
