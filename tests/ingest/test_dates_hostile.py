"""Dates a hostile or careless feed sends (issue 17, class 9): nonsense is missing (not 1970,
not rolled over), offsets beyond ±14:00 are refused, named zones have their real offsets, and a
far-future date is clamped once: polling the same unchanged entry again neither changes what is
stored nor counts the item as updated (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from curation.ingest.clean import clean_entry
from curation.ingest.parse import parse_date, parse_feed
from curation.ingest.parse.dates import ZONES
from curation.ingest.pipeline import ingest
from curation.storage.feeds import Store
from curation.storage.tables import Item
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import settings_for

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
FEED = "https://example.org/feed"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "0000-01-01T00:00:00Z",
        "-0044-03-15T12:00:00Z",
        "-2000-01-01",
        "Mon, 01 Jan 0000 00:00:00 GMT",
        "1969-12-31T23:59:59Z",
        "2026-13-01T00:00:00Z",  # month 13 (feedparser: January 2027)
        "2026-02-30",  # feedparser: 2 March
        "2026-04-31T10:00:00+00:00",
        "Mon, 31 Feb 2026 10:00:00 GMT",
        "Sun, 01 Nov 2026 25:00:00 GMT",
        "2026-11-01T10:61:00Z",
        "2026-11-01T10:00:00+25:00",  # offsets beyond ±14:00
        "2026-11-01T10:00:00+15:00",
        "2026-11-01T10:00:00-14:30",
        "Sun, 01 Nov 2026 10:00:00 +2500",
        "Sun, 01 Nov 2026 10:00:00 -1500",
        "Sun Jan 32 16:29:06 PST 2004",
    ],
)
def test_nonsense_dates_are_missing(value: str) -> None:
    assert parse_date(value, now=NOW) is None


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Sun, 01 Nov 2026 10:00:00 CEST", utc(2026, 11, 1, 8)),
        ("Sun, 01 Nov 2026 10:00:00 CET", utc(2026, 11, 1, 9)),
        ("Sun, 01 Nov 2026 10:00:00 BST", utc(2026, 11, 1, 9)),
        ("Sun, 01 Nov 2026 10:00:00 EET", utc(2026, 11, 1, 8)),
        ("Sun, 01 Nov 2026 10:00:00 EEST", utc(2026, 11, 1, 7)),
        ("Sun, 01 Nov 2026 10:00:00 WEST", utc(2026, 11, 1, 9)),
        ("Sun, 01 Nov 2026 10:00:00 WET", utc(2026, 11, 1, 10)),
        ("Sun, 01 Nov 2026 10:00:00 EST", utc(2026, 11, 1, 15)),
        ("Sun, 01 Nov 2026 10:00:00 PST", utc(2026, 11, 1, 18)),
        ("Sun, 01 Nov 2026 10:00:00 JST", utc(2026, 11, 1, 1)),
        ("Sun, 01 Nov 2026 10:00:00 AEDT", utc(2026, 10, 31, 23)),
        ("01 Nov 2026 10:00 cest", utc(2026, 11, 1, 8)),
        ("2026-11-01 10:00:00 CEST", utc(2026, 11, 1, 8)),
        ("Sun Nov  1 10:00:00 CEST 2026", utc(2026, 11, 1, 8)),
        ("2026-11-01T10:00:00+14:00", utc(2026, 10, 31, 20)),  # the widest real offsets
        ("2026-11-01T10:00:00-12:00", utc(2026, 11, 1, 22)),
        ("Sun, 01 Nov 2026 10:00:00 +1400", utc(2026, 10, 31, 20)),
        ("Sun, 01 Nov 2026 10:00:00 XYZ", utc(2026, 11, 1, 10)),  # unknown name: UTC
    ],
)
def test_named_zones_have_their_real_offsets(value: str, expected: datetime) -> None:
    assert parse_date(value, now=NOW) == expected


def test_zone_table_is_within_the_real_offsets() -> None:
    assert all(-12 * 60 <= minutes <= 14 * 60 for minutes in ZONES.values())
    assert ZONES["cest"] == 120 and ZONES["bst"] == 60 and ZONES["eet"] == 120


def rss(items: str) -> bytes:
    return (
        '<rss version="2.0"><channel><title>T</title><link>https://example.org/</link>'
        f"{items}</channel></rss>"
    ).encode()


def test_both_parsers_keep_the_raw_text_of_a_clamped_or_refused_date() -> None:
    body = rss(
        "<item><title>future</title><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
        "<item><title>nonsense</title><pubDate>Mon, 31 Feb 2026 10:00:00 GMT</pubDate></item>"
        "<item><title>fine</title><pubDate>Sun, 01 Nov 2026 10:00:00 CEST</pubDate></item>"
    )
    for doc in (body, body + b"&nbsp;"):  # the fast path, then the feedparser fallback
        future, nonsense, fine = parse_feed(doc, url=FEED, now=NOW).entries
        assert (future.published, future.published_raw) == (NOW, "Fri, 01 Jan 2100 00:00:00 GMT")
        assert (nonsense.published, nonsense.published_raw) == (
            None,
            "Mon, 31 Feb 2026 10:00:00 GMT",
        )
        assert (fine.published, fine.published_raw) == (utc(2026, 11, 1, 8), None)


def test_a_far_future_entry_hashes_the_same_on_every_poll() -> None:
    body = rss(
        "<item><title>f</title><link>https://example.org/f</link>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
    )
    first, later = (
        clean_entry(parse_feed(body, url=FEED, now=now).entries[0], source_id=1, feed_url=FEED)
        for now in (NOW, NOW + timedelta(hours=5))
    )
    assert first.published_at == NOW and later.published_at == NOW + timedelta(hours=5)
    assert first.content_hash == later.content_hash  # so the store keeps the first value


def test_a_far_future_entry_without_id_or_link_keeps_its_made_up_id() -> None:
    body = rss("<item><title>no id</title><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>")
    first, later = (
        clean_entry(parse_feed(body, url=FEED, now=now).entries[0], source_id=1, feed_url=FEED)
        for now in (NOW, NOW + timedelta(hours=5))
    )
    assert first.guid == later.guid  # else a new item on every poll


def test_far_future_date_is_clamped_once(any_store: Store, feed_server: FeedServer) -> None:
    body = rss(
        "<item><title>future</title><link>https://example.org/future</link><guid>g1</guid>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate><description>d</description></item>"
        "<item><title>old</title><link>https://example.org/old</link><guid>g2</guid>"
        "<pubDate>0000-01-01T00:00:00Z</pubDate></item>"
    )
    any_store.add_source(feed_server.add("/f", body=body))
    s = settings_for(any_store)
    first = ingest(any_store, s, now=NOW)
    assert first.new_items == 2

    def stored() -> dict[str, datetime | None]:
        with any_store.engine.connect() as conn:
            rows = conn.execute(select(Item.title, Item.published_at)).all()
        return {t: (p.replace(tzinfo=UTC) if p and p.tzinfo is None else p) for t, p in rows}

    assert stored() == {"future": NOW, "old": None}  # year 0 is unknown, not 1970
    for hours in (2, 4):  # the same document, polled again
        again = ingest(any_store, s, now=NOW + timedelta(hours=hours))
        assert (again.count("ok"), again.new_items, again.updated_items) == (1, 0, 0)
        assert stored() == {"future": NOW, "old": None}


def test_the_raw_text_of_a_date_that_is_not_the_feeds_own_is_stored(
    any_store: Store, feed_server: FeedServer
) -> None:
    """Clamped and refused dates keep the feed's words beside the stored value; a date that
    is the feed's own keeps no copy."""
    body = rss(
        "<item><title>future</title><link>https://example.org/future</link>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
        "<item><title>nonsense</title><link>https://example.org/nonsense</link>"
        "<pubDate>2024-13-45T00:00:00Z</pubDate></item>"
        "<item><title>fine</title><link>https://example.org/fine</link>"
        "<pubDate>Mon, 02 Nov 2026 06:00:00 GMT</pubDate></item>"
    )
    any_store.add_source(feed_server.add("/raw", body=body))
    assert ingest(any_store, settings_for(any_store), now=NOW).new_items == 3
    with any_store.engine.connect() as conn:
        rows = conn.execute(select(Item.title, Item.published_at, Item.published_raw)).all()
    found = {title: (at is not None, raw) for title, at, raw in rows}
    assert found == {
        "future": (True, "Fri, 01 Jan 2100 00:00:00 GMT"),
        "nonsense": (False, "2024-13-45T00:00:00Z"),
        "fine": (True, None),
    }
