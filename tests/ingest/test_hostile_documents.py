"""What a hostile or broken feed *document* can do (issue 17, classes 2, 3, 4 and 10), held by
both parsers (the lxml fast path and the feedparser fallback) and, where it is stored, by whole
ingest cycles against a real local HTTP server and a real database (SQLite and PostgreSQL).

- class 2: plain-text fields (titles, feed titles, authors) hold the text the feed meant,
  decoded once: ``&lt;script&gt;x&lt;/script&gt;`` is the literal text ``<script>x</script>``;
- class 3: a feed's home-page link is stored only as an absolute http(s) URL without
  credentials;
- class 4: every stored text field is capped (``curation.ingest.clean.limits``), cut safely;
- class 10: encodings, JSON that is no JSON Feed, truncated documents, empty items, the iTunes
  namespace in any case, Atom elements inside RSS items.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from curation.errors import ParseError
from curation.ingest.clean import clean_entry
from curation.ingest.clean.limits import (
    MAX_AUTHOR_CHARS,
    MAX_CONTENT_HTML_CHARS,
    MAX_SOURCE_TITLE_CHARS,
    MAX_SUMMARY_HTML_CHARS,
    MAX_URL_CHARS,
    cut_html,
)
from curation.ingest.document import clean_feed
from curation.ingest.parse import parse_feed
from curation.ingest.pipeline import ingest
from curation.storage.feeds import Store
from curation.storage.tables import Item
from tests.helpers.api import Api
from tests.helpers.feedserver import FeedServer
from tests.helpers.safety import assert_safe
from tests.helpers.settings import make_settings, settings_for

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
FEED = "https://example.org/feed"
SCRIPT = "<script>x</script>"
ENCODED = "&lt;script&gt;x&lt;/script&gt;"


def rss(items: str, *, channel: str = "", attrs: str = "", tail: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {attrs}><channel>'
        f"<title>T</title><link>https://example.org/</link>{channel}{items}</channel></rss>{tail}"
    ).encode()


def both(body: bytes, **kw: object) -> tuple:
    """The document through the fast path, and through the fallback (an undeclared entity
    after the root makes it ill-formed: lxml refuses it, feedparser reads it)."""
    fast = parse_feed(body, url=FEED, now=NOW, **kw)  # type: ignore[arg-type]
    slow = parse_feed(body + b"&nbsp;", url=FEED, now=NOW, **kw)  # type: ignore[arg-type]
    assert not fast.warnings, fast.warnings
    assert slow.warnings and slow.warnings[0].startswith("fallback parser used")
    return fast, slow


def stored_titles(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(Item.title)).scalars())


# --------------------------------------------------------------------------- class 2: titles


@pytest.mark.parametrize(
    "raw,text",
    [
        (ENCODED, SCRIPT),  # entity-encoded markup is text
        (f"<![CDATA[{SCRIPT}]]>", SCRIPT),
        ("AT&amp;amp;T", "AT&amp;T"),  # escaped twice: decoded once
        ("a &lt; b &amp; c", "a < b & c"),
    ],
)
def test_rss_titles_are_plain_text_decoded_once_by_both_parsers(raw: str, text: str) -> None:
    body = rss(
        f"<item><title>{raw}</title><link>https://example.org/1</link>"
        f"<author>{raw}</author></item>",
        channel="",
    ).replace(b"<title>T</title>", f"<title>{raw}</title>".encode())
    for feed in both(body):
        (entry,) = feed.entries
        assert (entry.title, entry.title_is_html) == (text, False)
        assert feed.title == text
        assert entry.author == text
        item = clean_entry(entry, source_id=1, feed_url=FEED)
        assert item.title == text


def test_atom_text_titles_are_literal_and_html_titles_are_read_as_html() -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">'
        f"{ENCODED}</title><id>f</id>"
        f'<entry><id>1</id><title type="text">{ENCODED}</title></entry>'
        '<entry><id>2</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; co</title></entry>'
        "<entry><id>3</id><title>&amp;lt;i&amp;gt;</title></entry></feed>"
    ).encode()
    for feed in both(body):
        text, html, plain = (clean_entry(e, source_id=1, feed_url=FEED) for e in feed.entries)
        assert feed.title == SCRIPT
        assert text.title == SCRIPT
        assert html.title == "Bold & co"  # HTML: its markup goes, its one escape is decoded
        assert plain.title == "&lt;i&gt;"  # text: decoded once, by XML


def test_json_feed_titles_and_authors_are_plain_text() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": SCRIPT,
        "items": [{"id": "1", "title": SCRIPT, "authors": [{"name": "&lt;b&gt;"}]}],
    }
    feed = parse_feed(json.dumps(doc).encode(), url=FEED, now=NOW)
    item = clean_entry(feed.entries[0], source_id=1, feed_url=FEED)
    assert (feed.title, item.title, item.author) == (SCRIPT, SCRIPT, "&lt;b&gt;")


def test_stored_title_is_the_literal_text(any_store: Store, feed_server: FeedServer) -> None:
    body = rss(f"<item><title>{ENCODED}</title><link>https://example.org/a</link></item>").replace(
        b"<title>T</title>", f"<title>{ENCODED}</title>".encode()
    )
    any_store.add_source(feed_server.add("/f", body=body))
    result = ingest(any_store, settings_for(any_store), now=NOW)
    assert result.count("ok") == 1
    assert stored_titles(any_store) == [SCRIPT]
    assert any_store.list_sources()[0].title == SCRIPT


# --------------------------------------------------------------------------- class 3: site link


@pytest.mark.parametrize(
    "link,stored",
    [
        ("javascript:alert(1)", None),
        (" JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>x</script>", None),
        ("vbscript:msgbox(1)", None),
        ("https:///no-host", None),
        ("ftp://example.org/", None),
        ("https://user:secret@example.org/home", "https://example.org/home"),
        ("https://token@example.org/", "https://example.org/"),
        ("/about", "https://example.org/about"),  # relative: resolved against the feed URL
        ("https://example.org/" + "p" * MAX_URL_CHARS, None),  # too long: dropped, never cut
    ],
)
def test_feed_home_link_is_http_without_credentials(link: str, stored: str | None) -> None:
    from xml.sax.saxutils import escape

    body = rss("<item><title>x</title></item>").replace(
        b"<link>https://example.org/</link>", f"<link>{escape(link)}</link>".encode()
    )
    cleaned = clean_feed(
        body, source_id=1, url=FEED, content_type=None, settings=make_settings("sqlite://"), now=NOW
    )
    assert cleaned.link == stored


@pytest.mark.parametrize(
    "link", ["javascript:alert(document.cookie)", "https://user:secret@example.org/"]
)
def test_unsafe_home_link_is_never_stored(
    any_store: Store, feed_server: FeedServer, link: str
) -> None:
    body = rss("<item><title>x</title><link>https://example.org/x</link></item>").replace(
        b"<link>https://example.org/</link>", f"<link>{link}</link>".encode()
    )
    any_store.add_source(feed_server.add("/f", body=body))
    assert ingest(any_store, settings_for(any_store), now=NOW).count("ok") == 1
    html_url = any_store.list_sources()[0].html_url
    assert html_url in (None, "https://example.org/")
    assert "secret" not in (html_url or "") and "javascript" not in (html_url or "")


# --------------------------------------------------------------------------- class 4: size caps


def test_cut_html_never_splits_a_tag_or_reference_and_closes_what_it_opened() -> None:
    html = '<p>a &amp; b <a href="https://x.org/?a=1&amp;b=2" rel="x">link</a></p>' * 50
    for cap in range(0, 400, 7):
        cut = cut_html(html, cap)
        assert len(cut) <= cap
        assert cut.count("<p>") == cut.count("</p>") and cut.count("<a ") == cut.count("</a>")
        assert "&am…" not in cut and not cut.rstrip("…</ap>").endswith("&")


def test_every_stored_text_field_of_an_entry_is_capped() -> None:
    huge = "<p>" + "word &amp; more " * 500_000 + "</p>"  # 8 MB of summary
    body = rss(
        "<item><title>" + "T" * 10_000 + "</title><link>https://example.org/1</link>"
        "<author>" + "A" * 10_000 + f"</author><description><![CDATA[{huge}]]></description>"
        f"<content:encoded><![CDATA[{huge}<b>x</b>]]></content:encoded></item>",
        attrs='xmlns:content="http://purl.org/rss/1.0/modules/content/"',
    ).replace(b"<title>T</title>", b"<title>" + b"S" * 10_000 + b"</title>")
    cleaned = clean_feed(
        body, source_id=1, url=FEED, content_type=None, settings=make_settings("sqlite://"), now=NOW
    )
    (item,) = cleaned.items
    assert len(item.title) == 500 and item.title.endswith("…")
    assert len(item.author or "") == MAX_AUTHOR_CHARS
    assert len(item.summary_html) <= MAX_SUMMARY_HTML_CHARS
    assert len(item.content_html) <= MAX_CONTENT_HTML_CHARS
    assert item.summary_html.endswith("</p>") and item.content_html.endswith("</p>")
    assert_safe(item.summary_html)
    assert len(cleaned.title or "") == MAX_SOURCE_TITLE_CHARS


def test_a_huge_summary_is_stored_at_its_cap(any_store: Store, feed_server: FeedServer) -> None:
    huge = "<p>" + "x" * 7_800_000 + "</p>"
    body = rss(
        f"<item><title>big</title><link>https://example.org/big</link>"
        f"<description><![CDATA[{huge}]]></description></item>"
    ).replace(b"<title>T</title>", b"<title>" + b"S" * 10_000 + b"</title>")
    any_store.add_source(feed_server.add("/f", body=body))
    s = settings_for(any_store, fetch_max_bytes=16 * 1024 * 1024)
    assert ingest(any_store, s, now=NOW).count("ok") == 1
    with any_store.engine.connect() as conn:
        summary, content = conn.execute(select(Item.summary_html, Item.content_html)).one()
    assert 0 < len(summary) + len(content) <= MAX_SUMMARY_HTML_CHARS
    assert len(any_store.list_sources()[0].title or "") == MAX_SOURCE_TITLE_CHARS


# --------------------------------------------------------------------------- class 10: documents


def test_utf8_without_any_charset_is_read_as_utf8() -> None:
    body = rss("<item><title>Zürich – naïve café</title></item>").replace(b' encoding="utf-8"', b"")
    for ctype in (None, "text/xml", "application/rss+xml", "text/html"):
        for feed in both(body, content_type=ctype):
            assert feed.entries[0].title == "Zürich – naïve café"


def test_invalid_utf8_is_decoded_with_a_warning_not_silently() -> None:
    body = rss("<item><title>Zürich – naïve café</title></item>").replace(b' encoding="utf-8"', b"")
    stray = body.replace("naïve".encode(), b"na\xefve")  # one byte that is not UTF-8
    cleaned = clean_feed(
        stray,
        source_id=1,
        url=FEED,
        content_type=None,
        settings=make_settings("sqlite://"),
        now=NOW,
    )
    assert cleaned.items[0].title.startswith("Zürich")  # mostly UTF-8: stays UTF-8
    assert any("UTF-8" in w for w in cleaned.warnings)
    title = "Zürich – naïve café"
    legacy = body.replace(title.encode(), title.encode("windows-1252"))
    cleaned = clean_feed(
        legacy,
        source_id=1,
        url=FEED,
        content_type=None,
        settings=make_settings("sqlite://"),
        now=NOW,
    )
    assert cleaned.items[0].title == title
    assert any("windows-1252" in w for w in cleaned.warnings)


def test_encoding_warning_reaches_the_outcome(any_store: Store, feed_server: FeedServer) -> None:
    body = rss("<item><title>Zürich</title><link>https://example.org/z</link></item>")
    legacy = body.replace(b' encoding="utf-8"', b"").replace(
        "Zürich".encode(), "Zürich".encode("windows-1252")
    )
    any_store.add_source(feed_server.add("/f", body=legacy, content_type="application/rss+xml"))
    (outcome,) = ingest(any_store, settings_for(any_store), now=NOW).outcomes
    assert outcome.status == "ok"
    assert "windows-1252" in (outcome.warning or "")
    assert stored_titles(any_store) == ["Zürich"]


@pytest.mark.parametrize(
    "doc",
    [
        {"items": [{"id": "1", "title": "x"}]},  # no version
        {"version": "https://example.org/not-jsonfeed", "items": [{"id": "1"}]},
        {"version": "https://jsonfeed.org/version/1.1", "items": {"id": "1"}},  # not a list
        {"version": "https://jsonfeed.org/version/1.1"},  # no items
        {"name": "package.json", "dependencies": {}},
    ],
)
def test_json_that_is_not_a_json_feed_is_refused(doc: dict) -> None:
    with pytest.raises(ParseError, match="JSON Feed"):
        parse_feed(json.dumps(doc).encode(), url=FEED, now=NOW)


def test_json_that_is_not_a_feed_stores_nothing(any_store: Store, feed_server: FeedServer) -> None:
    body = json.dumps({"title": "api", "items": [{"id": 1, "title": "row"}]}).encode()
    any_store.add_source(feed_server.add("/f.json", body=body, content_type="application/json"))
    (outcome,) = ingest(any_store, settings_for(any_store), now=NOW).outcomes
    assert outcome.status == "error" and "JSON Feed" in (outcome.error or "")
    assert stored_titles(any_store) == []


def _truncated() -> bytes:
    full = rss(
        "".join(
            f"<item><title>t{i}</title><link>https://example.org/{i}</link>"
            f"<description>body {i}</description></item>"
            for i in range(3)
        )
    )
    return full[: full.index(b"<description>body 2") + 15]  # inside the last item


def test_truncated_document_is_refused_by_the_parser() -> None:
    with pytest.raises(ParseError, match="truncated"):
        parse_feed(_truncated(), url=FEED, now=NOW)
    # a document missing only its closing root tags after complete entries is read
    whole = rss("<item><title>a</title></item>").replace(b"</channel></rss>", b"</channel>")
    assert [e.title for e in parse_feed(whole, url=FEED, now=NOW).entries] == ["a"]


def test_truncated_document_is_not_healthy_and_stores_no_partial_entry(
    any_store: Store, feed_server: FeedServer
) -> None:
    any_store.add_source(feed_server.add("/f", body=_truncated()))
    (outcome,) = ingest(any_store, settings_for(any_store), now=NOW).outcomes
    assert outcome.status == "error" and "truncated" in (outcome.error or "")
    assert stored_titles(any_store) == []
    src = any_store.list_sources()[0]
    assert src.status == "error" and "truncated" in (src.last_error or "")


def test_empty_items_are_dropped_and_counted(any_store: Store, feed_server: FeedServer) -> None:
    body = rss(
        "<item><title>real</title><link>https://example.org/r</link></item>"
        '<item><guid isPermaLink="false">only-a-guid</guid>'
        "<pubDate>Sun, 01 Nov 2026 10:00:00 GMT</pubDate></item>"
        "<item></item>"
    )
    any_store.add_source(feed_server.add("/f", body=body))
    (outcome,) = ingest(any_store, settings_for(any_store), now=NOW).outcomes
    assert (outcome.status, outcome.new, outcome.skipped_entries) == ("ok", 1, 2)
    assert stored_titles(any_store) == ["real"]


@pytest.mark.parametrize(
    "uri",
    [
        "http://www.itunes.com/dtds/podcast-1.0.dtd",
        "http://www.itunes.com/DTDs/Podcast-1.0.dtd",
        "http://WWW.ITUNES.COM/DTDS/PODCAST-1.0.DTD",
        "http://www.itunes.com/DTDs/PodCast-1.0.dtd",
    ],
)
@pytest.mark.parametrize("prefix", ["itunes", "iTunes", "ITUNES"])
def test_itunes_namespace_in_any_case_is_read_by_both_parsers(uri: str, prefix: str) -> None:
    body = rss(
        f"<item><title>ep</title><{prefix}:author>Host Name</{prefix}:author>"
        f"<{prefix}:summary>Show notes</{prefix}:summary></item>",
        attrs=f'xmlns:{prefix}="{uri}"',
    )
    for feed in both(body):
        (entry,) = feed.entries
        assert entry.author == "Host Name"
        assert "Show notes" in (entry.summary or "")


def test_atom_elements_inside_rss_items_are_read_by_both_parsers() -> None:
    body = rss(
        '<item><title>x</title><atom:link rel="self" href="https://example.org/self"/>'
        '<atom:link rel="alternate" type="text/html" href="https://example.org/alt"/>'
        "<atom:author><atom:name>Ann Author</atom:name></atom:author>"
        '<atom:content type="html">&lt;p&gt;Full &lt;b&gt;text&lt;/b&gt;&lt;/p&gt;</atom:content>'
        "</item>",
        attrs='xmlns:atom="http://www.w3.org/2005/Atom"',
    )
    for feed in both(body):
        (entry,) = feed.entries
        assert entry.link == "https://example.org/alt"
        assert entry.author == "Ann Author"
        assert entry.content == "<p>Full <b>text</b></p>"


def test_fast_and_fallback_parsers_agree_on_plain_fields() -> None:
    """Every plain-text field and date of a tricky entry is the same through both parsers."""
    body = rss(
        f"<item><title>{ENCODED} &amp;amp;</title><link>https://example.org/a?x=1&amp;y=2</link>"
        "<guid isPermaLink='false'>g&amp;1</guid><author>A &amp; B</author>"
        "<pubDate>Sun, 01 Nov 2026 10:00:00 CEST</pubDate></item>"
    )
    fast, slow = both(body)
    fields = ("guid", "title", "title_is_html", "link", "author", "published")
    assert [getattr(fast.entries[0], f) for f in fields] == [
        getattr(slow.entries[0], f) for f in fields
    ]
    assert fast.entries[0].published == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert NOW - fast.entries[0].published < timedelta(days=2)


# --------------------------------------------------------------------------- served by the API


def test_api_serves_the_literal_title_and_no_unsafe_site_link(
    api: Api, feed_server: FeedServer
) -> None:
    """What a hostile feed document leaves in the store is what the API serves: the title as
    the literal text the feed meant, and no ``javascript:`` or credentials in the site link, in
    the JSON or in the OPML export."""
    curator = api.person("curator")
    body = rss(f"<item><title>{ENCODED}</title><link>https://example.org/a</link></item>")
    body = body.replace(b"<title>T</title>", f"<title>{ENCODED}</title>".encode()).replace(
        b"<link>https://example.org/</link>", b"<link>javascript:alert(1)</link>"
    )
    url = feed_server.add("/feed", body=body)
    added = api.client.post("/v1/sources", headers=curator.headers, json={"url": url})
    assert added.status_code == 201, added.text
    assert api.client.post("/v1/ingest", headers=curator.headers).status_code == 200
    (item,) = api.client.get("/v1/items", headers=curator.headers).json()["items"]
    assert item["title"] == SCRIPT
    assert item["source"]["title"] == SCRIPT
    sources = api.client.get("/v1/sources", headers=curator.headers).text
    opml = api.client.get("/v1/sources/export", headers=curator.headers).text
    assert "javascript" not in sources.lower() and "javascript" not in opml.lower()
