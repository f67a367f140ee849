"""Whole ingest cycles against a real local HTTP server and a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from curation.ingest.pipeline import ingest
from curation.settings import Settings
from curation.storage.feeds import Store
from curation.storage.tables import Item, ItemSource
from tests.helpers.feeds import rss, rss_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import make_settings, settings_for
from tests.helpers.store import count

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def titles(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(Item.title)).scalars())


def test_cold_ingest_then_repoll_costs_304s(any_store: Store, feed_server: FeedServer) -> None:
    s = settings_for(any_store)
    for n in range(3):
        url = feed_server.add(
            f"/f{n}", body=rss(f"Feed {n}", rss_items(5, f"s{n}")), etag=f'"e{n}"'
        )
        any_store.add_source(url)
    first = ingest(any_store, s, now=NOW)
    assert (first.count("ok"), first.new_items) == (3, 15)
    assert count(any_store, Item) == 15 and count(any_store, ItemSource) == 15
    src = any_store.list_sources()[0]
    assert src.status == "ok" and src.etag == '"e0"' and src.item_count == 5
    assert src.title == "Feed 0"

    later = NOW + timedelta(hours=2)
    second = ingest(any_store, s, now=later)
    assert second.count("not_modified") == 3 and second.new_items == 0
    assert {x.status for x in any_store.list_sources()} == {"not_modified"}
    # the second poll sent validators and received no bodies
    assert all(feed_server.hits(f"/f{n}")[-1].headers.get("If-None-Match") for n in range(3))
    assert "Summary" not in second.line() and "3 not modified" in second.line()


def test_sources_not_due_are_skipped(
    store: Store, feed_server: FeedServer, settings: Settings
) -> None:
    store.add_source(feed_server.add("/f", body=rss("F", rss_items(1))))
    ingest(store, settings, now=NOW)
    again = ingest(store, settings, now=NOW + timedelta(minutes=5))
    assert again.outcomes == ()
    assert len(feed_server.hits("/f")) == 1


def test_updated_entry_updates_in_place(
    store: Store, feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.add("/f", body=rss("F", rss_items(2)))
    store.add_source(feed_server.url("/f"))
    ingest(store, settings, now=NOW)
    changed = rss_items(2)
    changed[0]["title"] = "a title 0 (corrected)"
    feed_server.add("/f", body=rss("F", changed))
    result = ingest(store, settings, now=NOW + timedelta(hours=2))
    assert result.updated_items == 1 and result.new_items == 0
    assert count(store, Item) == 2
    assert "a title 0 (corrected)" in titles(store) and "a title 0" not in titles(store)


def test_feed_cannot_overwrite_another_feeds_items(
    store: Store, feed_server: FeedServer, settings: Settings
) -> None:
    store.add_source(feed_server.add("/victim", body=rss("V", rss_items(2, "v"))))
    ingest(store, settings, now=NOW)
    hostile = [
        {"title": "HIJACKED", "guid": f"v-{i}", "link": f"https://evil.example/{i}"}
        for i in range(2)
    ]
    store.add_source(feed_server.add("/attacker", body=rss("A", hostile)))
    ingest(store, settings, now=NOW + timedelta(hours=2))
    assert {"v title 0", "v title 1"} <= titles(store)
    # the attacker's entries are its own items, not edits of the victim's
    assert count(store, Item) == 4


def test_same_article_from_two_sources_is_stored_once(
    any_store: Store, feed_server: FeedServer
) -> None:
    s = settings_for(any_store)
    a = [
        {
            "title": "Story",
            "guid": "x1",
            "link": "https://News.example.org/story?id=7&utm_source=rss",
        }
    ]
    b = [
        {"title": "Story!", "guid": "other-guid", "link": "https://news.example.org/story?id=7#top"}
    ]
    any_store.add_source(feed_server.add("/a", body=rss("A", a)))
    any_store.add_source(feed_server.add("/b", body=rss("B", b)))
    summary = ingest(any_store, s, now=NOW)
    assert summary.new_items == 1
    assert count(any_store, Item) == 1 and count(any_store, ItemSource) == 2
    assert sorted(x.item_count for x in any_store.list_sources()) == [1, 1]


def test_301_updates_url_and_410_retires(
    store: Store, feed_server: FeedServer, settings: Settings
) -> None:
    new = feed_server.add("/new", body=rss("F", rss_items(1)))
    moved = store.add_source(feed_server.add("/old", status=301, location="/new"))
    gone = store.add_source(feed_server.add("/gone", status=410))
    ingest(store, settings, now=NOW)
    assert store.get_source(moved.id).url == new
    g = store.get_source(gone.id)
    assert g.status == "gone" and not g.active and g.next_attempt_at is None
    assert "410" in (g.last_error or "")
    # a retired source is never polled again
    ingest(store, settings, now=NOW + timedelta(days=3))
    assert len(feed_server.hits("/gone")) == 1


def test_failures_back_off_exponentially(
    store: Store, feed_server: FeedServer, settings: Settings
) -> None:
    src = store.add_source(feed_server.add("/err", status=500, body=b"boom"))
    ingest(store, settings, now=NOW)
    first = store.get_source(src.id)
    assert first.status == "error" and first.error_count == 1 and "500" in (first.last_error or "")
    wait1 = first.next_attempt_at - NOW
    ingest(store, settings, now=first.next_attempt_at)
    second = store.get_source(src.id)
    wait2 = second.next_attempt_at - first.next_attempt_at
    assert second.error_count == 2
    assert wait2 > wait1 * 1.8  # doubled (with a small per-source spread)
    # success resets the count
    feed_server.add("/err", body=rss("F", rss_items(1)))
    ingest(store, settings, now=second.next_attempt_at)
    ok = store.get_source(src.id)
    assert ok.status == "ok" and ok.error_count == 0 and ok.last_error is None


def test_hostile_feeds_do_not_take_the_batch_down(
    store: Store, feed_server: FeedServer, settings: Settings
) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
        b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]>'
        b"<rss version='2.0'><channel><title>&g;</title><item><title>&g;</title></item></channel></rss>"
    )
    store.add_source(feed_server.add("/bomb", body=bomb))
    store.add_source(
        feed_server.add(
            "/html", body=b"<html><body>not a feed</body></html>", content_type="text/html"
        )
    )
    store.add_source(
        feed_server.add("/nul", body=rss("N", [{"title": "nul\x00here", "guid": "n"}]))
    )
    store.add_source(feed_server.add("/good", body=rss("G", rss_items(3, "g"))))
    summary = ingest(store, settings, now=NOW)
    by_url = {o.url.rsplit("/", 1)[1]: o for o in summary.outcomes}
    assert by_url["good"].status == "ok" and by_url["good"].new == 3
    assert by_url["html"].status == "error" and "not a feed" in (by_url["html"].error or "")
    assert "nulhere" in titles(store) or "nul here" in titles(store)
    for t in titles(store):
        assert len(t) <= settings.max_title_chars and "\x00" not in t


def test_crash_mid_run_loses_nothing(
    store: Store, feed_server: FeedServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = store.add_source(feed_server.add("/a", body=rss("A", rss_items(3, "a")), etag='"a"'))
    b = store.add_source(feed_server.add("/b", body=rss("B", rss_items(3, "b")), etag='"b"'))
    original = Store._save_items

    def crash_on_b(self, conn, source_id, batch, now, new_rows):  # noqa: ANN001
        result = original(self, conn, source_id, batch, now, new_rows)  # written, not committed
        if source_id == b.id:
            raise RuntimeError("power cut")
        return result

    monkeypatch.setattr(Store, "_save_items", crash_on_b)
    with pytest.raises(RuntimeError):
        ingest(store, settings, now=NOW)
    monkeypatch.undo()
    assert store.get_source(b.id).etag is None  # validators not saved without their items
    assert store.get_source(b.id).item_count == 0
    # the next run completes the work; nothing is duplicated
    ingest(store, settings, now=NOW + timedelta(hours=2))
    assert store.get_source(a.id).item_count == 3 and store.get_source(b.id).item_count == 3
    assert store.get_source(b.id).etag == '"b"'
    assert count(store, Item) == 6


def test_concurrent_runs_do_not_duplicate(any_store: Store, feed_server: FeedServer) -> None:
    s = settings_for(any_store)
    for n in range(6):
        any_store.add_source(feed_server.add(f"/f{n}", body=rss(f"F{n}", rss_items(20, f"c{n}"))))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ingest(any_store, s, now=NOW)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(any_store, Item) == 120 and count(any_store, ItemSource) == 120
    if any_store.engine.dialect.name == "sqlite":  # every item indexed once for search
        with any_store.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO item_fts(item_fts, rank) VALUES ('integrity-check', 1)"
            )
            assert conn.exec_driver_sql("SELECT count(*) FROM item_fts_docsize").scalar() == 120


def test_refused_source_records_reason(
    store: Store, feed_server: FeedServer, sqlite_url: str
) -> None:
    s = make_settings(sqlite_url, fetch_allow_hosts="")
    src = store.add_source(feed_server.add("/f", body=rss("F", rss_items(1))))
    ingest(store, s, now=NOW)
    rec = store.get_source(src.id)
    assert rec.status == "refused" and "refused" in (rec.last_error or "").lower()
    assert rec.next_attempt_at and rec.next_attempt_at - NOW >= timedelta(hours=20)
    assert feed_server.hits("/f") == []


def test_worker_processes_give_the_same_result(
    store: Store, feed_server: FeedServer, sqlite_url: str
) -> None:
    """Big batches parse in worker processes; the stored result must not depend on it."""
    s = make_settings(sqlite_url, ingest_workers=2, ingest_pool_min_sources=1)
    for n in range(4):
        store.add_source(feed_server.add(f"/p{n}", body=rss(f"P{n}", rss_items(10, f"p{n}"))))
    store.add_source(feed_server.add("/junk", body=b"\x00\xffnot xml at all"))
    summary = ingest(store, s, now=NOW)
    assert summary.count("ok") == 4 and summary.new_items == 40
    junk = next(o for o in summary.outcomes if o.url.endswith("/junk"))
    assert junk.status == "error" and "not a feed" in (junk.error or "")
    assert "p3 title 9" in titles(store)


def test_hand_written_timestamps_match_the_orm() -> None:
    """The store formats SQLite timestamps itself on the hot path; they must be the exact text
    the ORM column type writes (or range queries would compare unlike strings)."""
    from datetime import timezone

    from sqlalchemy.dialects import sqlite

    from curation.storage.feeds import _sqlite_timestamp
    from curation.storage.tables import UTCDateTime

    dialect = sqlite.dialect()
    bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    values = [
        datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=UTC),
        datetime.fromisoformat("2026-03-29T01:30:00+00:00"),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 11, 1, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2026, 11, 1, 1, 0, tzinfo=timezone(timedelta(hours=-8))),
        datetime(2026, 11, 1, 10, 0),  # naive: UTC by convention
    ]
    for value in values:
        assert _sqlite_timestamp(value) == bind(value), value
    assert _sqlite_timestamp(None) is None
