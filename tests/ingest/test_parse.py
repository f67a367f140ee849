"""curation.ingest.parse: formats, item-by-item robustness, dates, encodings and hostile documents."""

from __future__ import annotations

import json
import socket
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

import curation.ingest.parse.feed as parse_mod
from curation.errors import ParseError
from curation.ingest.clean import clean_entry
from curation.ingest.parse import parse_date, parse_feed
from curation.ingest.parse.common import without_xml_controls
from curation.ingest.parse.fallback import neutralise_dtd
from curation.ingest.records import ParsedEntry, ParsedFeed
from tests.helpers import fixture_feeds
from tests.helpers.paths import SHARED_FEEDS

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
URL = "https://example.com/blog/feed.xml"


def parse(body: bytes | str, **kw: object) -> ParsedFeed:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return parse_feed(data, url=kw.pop("url", URL), now=NOW, **kw)  # type: ignore[arg-type]


def rss(items: str, *, channel: str = "", attrs: str = 'version="2.0"', head: str = "") -> str:
    return (
        f'{head}<rss {attrs} xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Feed</title><link>https://example.com/</link>{channel}{items}"
        f"</channel></rss>"
    )


def atom(entries: str, *, feed: str = "", attrs: str = "") -> str:
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom" {attrs}><title>Feed</title>'
        f'<link href="https://example.com/"/>{feed}{entries}</feed>'
    )


def all_text(feed: ParsedFeed) -> str:
    """Every string the parser produced, for "this never leaks" assertions."""
    parts = [feed.version, feed.title or "", feed.link or "", *feed.warnings]
    for e in feed.entries:
        parts += [str(v) for v in (e.guid, e.title, e.link, e.summary, e.content, e.author)]
    return "\n".join(parts)


# --------------------------------------------------------------------------- formats


def test_rss20_fields() -> None:
    feed = parse(
        rss(
            "<item><title>First &amp; best</title><link>https://example.com/1</link>"
            '<guid isPermaLink="false">id-1</guid><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>'
            "<dc:creator>Ann</dc:creator><description>&lt;p&gt;Short&lt;/p&gt;</description>"
            "<content:encoded><![CDATA[<p>Long <b>body</b></p>]]></content:encoded></item>"
            "<item><title>Second</title><guid>https://example.com/2</guid></item>"
        )
    )
    assert (feed.version, feed.title, feed.link) == ("rss20", "Feed", "https://example.com/")
    first, second = feed.entries
    assert first == ParsedEntry(
        guid="id-1",
        title="First & best",
        title_is_html=False,
        link="https://example.com/1",
        summary="<p>Short</p>",
        content="<p>Long <b>body</b></p>",
        author="Ann",
        published=datetime(2003, 6, 10, 4, 0, tzinfo=UTC),
        updated=None,
        base=URL,  # the document's URL: relative references in the HTML resolve against it
    )
    # A permalink guid (the default) that is an http(s) URL doubles as the link.
    assert (second.guid, second.link) == ("https://example.com/2", "https://example.com/2")
    assert feed.warnings == ()


@pytest.mark.parametrize(
    "attrs,head,version",
    [
        ('version="0.91"', "", "rss091u"),
        (
            'version="0.91"',
            '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
            "rss091n",
        ),
        ('version="0.92"', "", "rss092"),
        ('version="2.0"', "", "rss20"),
        ("", "", "rss"),
    ],
)
def test_rss_versions(attrs: str, head: str, version: str) -> None:
    feed = parse(rss("<item><title>t</title></item>", attrs=attrs, head=head))
    assert feed.version == version
    assert [e.title for e in feed.entries] == ["t"]


def test_rss090_and_rss10() -> None:
    rss090 = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>Old</title>'
        "<link>http://example.com/</link></channel>"
        "<item><title>A</title><link>http://example.com/a</link></item></rdf:RDF>"
    )
    feed = parse(rss090)
    assert (feed.version, feed.title, [e.link for e in feed.entries]) == (
        "rss090",
        "Old",
        ["http://example.com/a"],
    )
    rss10 = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<channel rdf:about="http://example.com/"><title>New</title></channel>'
        '<item rdf:about="http://example.com/b"><title>B</title><link>http://example.com/b</link>'
        "<dc:date>2004-01-02T03:04:05+01:00</dc:date><description>d</description></item>"
        "</rdf:RDF>"
    )
    (entry,) = parse(rss10).entries
    assert parse(rss10).version == "rss10"
    assert entry.guid == "http://example.com/b"  # rdf:about is the item's identity
    assert entry.updated == datetime(2004, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert entry.published is None


def test_atom10_fields_and_text_constructs() -> None:
    feed = parse(
        atom(
            "<entry><id>urn:uuid:1</id>"
            '<title type="text">Less &lt;b&gt; than</title>'
            '<link rel="self" href="https://example.com/self"/>'
            '<link rel="alternate" type="application/pdf" href="https://example.com/1.pdf"/>'
            '<link rel="alternate" type="text/html" href="https://example.com/1"/>'
            "<published>2005-07-31T12:29:29Z</published><updated>2005-08-01T00:00:00-02:00</updated>"
            '<summary type="text">1 &lt; 2 &amp; 3</summary>'
            '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            '<p class="x">Hi<br/>there</p><img src="a.png"/></div></content></entry>'
            '<entry><title type="html">&lt;b&gt;Bold&lt;/b&gt;</title>'
            '<content type="html">&lt;p&gt;raw&lt;/p&gt;</content>'
            "<author><name>Own</name></author></entry>",
            feed="<author><name>Feed Author</name></author>",
        )
    )
    assert feed.version == "atom10"
    first, second = feed.entries
    assert first.guid == "urn:uuid:1"
    assert (first.title, first.title_is_html) == ("Less <b> than", False)
    assert first.link == "https://example.com/1"  # alternate + text/html preferred
    assert first.summary == "1 &lt; 2 &amp; 3"  # plain text is escaped into HTML
    # the relative src is left for the sanitiser, with the base it resolves against
    assert first.content == '<p class="x">Hi<br />there</p><img src="a.png" />'
    assert first.base == URL == "https://example.com/blog/feed.xml"
    cleaned = clean_entry(first, source_id=1, feed_url=URL)
    assert cleaned.content_html == ('<p>Hi<br>there</p><img src="https://example.com/blog/a.png">')
    assert first.published == datetime(2005, 7, 31, 12, 29, 29, tzinfo=UTC)
    assert first.updated == datetime(2005, 8, 1, 2, 0, tzinfo=UTC)
    assert first.author == "Feed Author"  # RFC 4287: the feed's author applies
    assert (second.title, second.title_is_html) == ("<b>Bold</b>", True)
    assert second.content == "<p>raw</p>"
    assert second.author == "Own"
    assert second.guid is None


def test_atom03_modes() -> None:
    doc = (
        '<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old Atom</title>'
        '<link rel="alternate" type="text/html" href="http://example.com/"/>'
        '<entry><title>E</title><link rel="alternate" type="text/html" href="http://example.com/e"/>'
        "<id>tag:example.com,2003:e</id><issued>2003-12-13T08:29:29-04:00</issued>"
        "<modified>2003-12-13T18:30:02Z</modified>"
        '<summary type="text/html" mode="escaped">&lt;i&gt;s&lt;/i&gt;</summary>'
        '<content type="text/html" mode="base64">PHA+ZGVjb2RlZDwvcD4=</content></entry></feed>'
    )
    feed = parse(doc)
    (entry,) = feed.entries
    assert (feed.version, feed.title, feed.link) == ("atom03", "Old Atom", "http://example.com/")
    assert entry.link == "http://example.com/e"
    assert entry.summary == "<i>s</i>"
    assert entry.content == "<p>decoded</p>"
    assert entry.published == datetime(2003, 12, 13, 12, 29, 29, tzinfo=UTC)
    assert entry.updated == datetime(2003, 12, 13, 18, 30, 2, tzinfo=UTC)


def test_atom_entry_document() -> None:
    doc = '<entry xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>Solo</title></entry>'
    feed = parse(doc)
    assert (feed.version, [e.title for e in feed.entries]) == ("atom10", ["Solo"])


def test_json_feed_11_and_10() -> None:
    doc11 = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JF",
        "home_page_url": "https://example.org/",
        "authors": [{"name": "Feed Person"}],
        "items": [
            {
                "id": "1",
                "url": "/posts/1",
                "title": "One",
                "content_html": "<p>Hi</p>",
                "summary": "a < b",
                "date_published": "2020-01-02T03:04:05Z",
                "date_modified": "2020-01-03T00:00:00+02:00",
                "authors": [{"url": "https://x"}, {"name": "Item Person"}],
            },
            {"id": 2, "external_url": "https://elsewhere.example/", "content_text": "x < y\n"},
        ],
    }
    feed = parse(json.dumps(doc11), content_type="application/feed+json")
    assert (feed.version, feed.title, feed.link) == ("json11", "JF", "https://example.org/")
    one, two = feed.entries
    assert one == ParsedEntry(
        guid="1",
        title="One",
        link="https://example.com/posts/1",
        summary="a &lt; b",
        content="<p>Hi</p>",
        author="Item Person",
        published=datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated=datetime(2020, 1, 2, 22, 0, tzinfo=UTC),
    )
    assert (two.guid, two.link, two.content, two.author) == (
        "2",
        "https://elsewhere.example/",
        "x &lt; y",
        "Feed Person",
    )
    doc10 = {
        "version": "https://jsonfeed.org/version/1",
        "author": {"name": "Old Style"},
        "items": [{"id": "a", "content_text": "t", "author": {"name": "Item Old"}}, {"id": "b"}],
    }
    feed10 = parse(b"\xef\xbb\xbf \n" + json.dumps(doc10).encode())  # BOM + whitespace
    assert feed10.version == "json10"
    assert [e.author for e in feed10.entries] == ["Item Old", "Old Style"]


def test_json_feed_wrong_types_never_crash() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": ["not a string"],
        "home_page_url": {"not": "a string"},
        "authors": {"not": "a list"},
        "items": [
            {
                "id": "2",
                "title": 1000,
                "content_text": ["no"],
                "content_html": True,
                "summary": True,
                "date_published": "not a date",
                "date_modified": {},
                "url": 1.2,
                "authors": "not a list",
            },
            {"id": 3.1415, "title": "float id", "author": "not a dict"},
            {"id": True, "authors": [{"name": []}, "x", {"name": "Jane"}]},
            "not an object",
            ["nor", "this"],
            {"id": None, "title": "\u0000nul\u0001"},
        ],
    }
    feed = parse(json.dumps(doc))
    assert feed.title is None and feed.link is None
    bad, pi, jane, nul = feed.entries
    assert bad == ParsedEntry(guid="2", published_raw="not a date")  # kept: refused
    assert (pi.guid, pi.title, pi.author) == ("3.1415", "float id", None)
    assert (jane.guid, jane.author) == (None, "Jane")
    assert nul.title == "\x00nul\x01"  # passed through; the cleaner strips control characters
    assert sum("not an object" in w for w in feed.warnings) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b'{"foo": 1}',
        b'{"version": "https://jsonfeed.org/version/1", ',
        b"{" * 100_000,
        b'{"items": [' + b"[" * 100_000 + b"]}",
        b'{"n": ' + b"9" * 10_000 + b"}",
    ],
)
def test_json_that_is_not_a_feed_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body, content_type="application/json")


def test_json_feed_with_invalid_utf8_is_decoded_with_replacement() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "caf\xe9"}]}'
    assert parse(body).entries[0].title == "caf\ufffd"


# --------------------------------------------------------------------------- item by item


def test_missing_guid_is_none_and_link_rules() -> None:
    feed = parse(
        rss(
            "<item><title>no guid</title></item>"
            '<item><guid isPermaLink="false">https://example.com/not-a-link</guid></item>'
            "<item><guid>opaque-123</guid></item>"
            '<item><link>posts/4</link><guid isPermaLink="true">https://example.com/4g</guid></item>'
        )
    )
    a, b, c, d = feed.entries
    assert (a.guid, a.link) == (None, None)
    assert (b.guid, b.link) == ("https://example.com/not-a-link", None)
    # A permalink guid is a URL reference (resolved as feedparser does) but only an http(s)
    # URL written as such becomes the link; a bare token does not.
    assert c.guid == "https://example.com/blog/opaque-123"
    assert c.link == "https://example.com/blog/opaque-123"
    assert d.link == "https://example.com/blog/posts/4"  # <link> beats the guid


def test_one_bad_entry_never_loses_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every field is parsed defensively, so simulate a bug that blows up on one entry.
    real_date, real_struct = parse_mod.read_date, parse_mod.clamped_struct

    def exploding_date(value: str | None, now: datetime) -> tuple[datetime | None, bool]:
        if value and ("BOOM" in value or "2011" in value):  # 2011: the fallback reads text too
            raise RuntimeError("simulated bug")
        return real_date(value, now)

    def exploding_struct(st: object, now: datetime) -> datetime | None:
        if st and st[0] == 2011:  # type: ignore[index]
            raise RuntimeError("bad struct")
        return real_struct(st, now)

    monkeypatch.setattr(parse_mod, "read_date", exploding_date)
    monkeypatch.setattr(parse_mod, "clamped_struct", exploding_struct)
    dates = ["Mon, 01 Jan 2024 00:00:00 GMT", "BOOM", "2024-01-03"]
    items = "".join(
        f"<item><title>{i}</title><pubDate>{d}</pubDate></item>" for i, d in enumerate(dates)
    )
    feed = parse(rss(items))
    assert [e.title for e in feed.entries] == ["0", "2"]
    assert len(feed.warnings) == 1 and "simulated bug" in feed.warnings[0]
    # The same on the feedparser fallback path (&nbsp; is undefined in XML: lxml refuses it).
    items = "".join(
        f"<item><title>{y}&nbsp;x</title><pubDate>01 Jan {y} 00:00 GMT</pubDate></item>"
        for y in (2010, 2011, 2012)
    )
    feed = parse(rss(items))
    assert [e.title for e in feed.entries] == ["2010\xa0x", "2012\xa0x"]
    assert feed.entries[0].published == datetime(2010, 1, 1, tzinfo=UTC)
    assert any("simulated bug" in w for w in feed.warnings)


def test_ten_thousand_character_title_and_huge_summary() -> None:
    title = "T" * 10_000
    feed = parse(
        rss(f"<item><title>{title}</title><description>{'x' * 500_000}</description></item>")
    )
    assert feed.entries[0].title == title
    assert len(feed.entries[0].summary or "") == 500_000


def test_nul_and_control_characters_do_not_crash() -> None:
    body = rss(
        "<item><title>a\x00b</title><description>c\x01d\x1f</description></item>"
        "<item><title>fine</title></item>"
    )
    # XML 1.0 forbids them: the fast path reads the document without them, as the cleaner
    # would drop them (the fallback passes them through, and the cleaner removes them there)
    feed = parse(body)
    assert [(e.title, e.summary) for e in feed.entries] == [("ab", "cd"), ("fine", None)]
    assert not feed.warnings
    slow = parse(body + "&nbsp;")  # ill-formed for another reason too: feedparser reads it
    assert [(e.title, e.summary) for e in slow.entries] == [("a\x00b", "c\x01d"), ("fine", None)]
    assert slow.warnings and "fallback" in slow.warnings[0]


@pytest.mark.parametrize(
    "controls",
    ["\x00", "\x01\x02", "\x08", "\x0b", "\x0c", "\x10\x1a", "\x1b[0m", "\x1f", "a\x0bb\x0cc"],
)
def test_control_characters_cost_the_fast_path_nothing_that_is_stored(controls: str) -> None:
    """A document ill-formed only by C0 controls (real text holds them: 20 Newsgroups has ESC,
    BS, SUB…) is read by the fast path without them; what the cleaner makes of it is what it
    makes of the fallback's reading, which passes them through."""
    c = controls
    body = rss(
        f"<item><title>T{c}itle {c}</title><link>https://example.com/{c}a</link>"
        f"<guid isPermaLink='false'>g{c}1</guid><author>A{c}n</author>"
        f"<description>&lt;p&gt;x{c}y &lt;a href='/r{c}el'&gt;l{c}k&lt;/a&gt;&lt;/p&gt;{c}"
        f"</description><pubDate>Sun, 01 Nov 2026 10:00:00 GMT</pubDate></item>"
        f"<item><title>{c}</title><description>{c}b{c}</description></item>"
    )
    fast = parse(body)
    slow = parse(body + "&nbsp;")
    assert not fast.warnings and "fallback" in slow.warnings[0]
    assert len(fast.entries) == len(slow.entries) == 2
    for a, b in zip(fast.entries, slow.entries, strict=True):
        assert clean_entry(a, source_id=1, feed_url=URL) == clean_entry(
            b, source_id=1, feed_url=URL
        )


@pytest.mark.parametrize("encoding", ["utf-16", "iso-2022-jp", "cp037"])
def test_control_bytes_are_not_dropped_where_they_may_be_part_of_a_character(
    encoding: str,
) -> None:
    """Only in encodings where a byte below 0x20 can only be a control character."""
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'
    wide = encoding == "utf-16"  # there every other byte of ASCII text is a NUL
    body = (
        (declaration + "<rss>a</rss>").encode(encoding) if wide else declaration.encode() + b"\x1b"
    )
    assert without_xml_controls(body, None) is None
    assert without_xml_controls(b"<rss>a\x01b\x0bc</rss>", None) == b"<rss>ab c</rss>"
    assert without_xml_controls(b"<rss>fine\tand\r\n</rss>", None) is None


def test_summary_identical_to_content_is_not_repeated() -> None:
    (entry,) = parse(rss("<item><description>same</description>"
                         "<content:encoded>same</content:encoded></item>")).entries  # fmt: skip
    assert (entry.summary, entry.content) == (None, "same")


# --------------------------------------------------------------------------- titles and links


@pytest.mark.parametrize(
    "raw,title,is_html",
    [
        ("AT&amp;T", "AT&T", False),
        ("a &lt; b", "a < b", False),
        # issue 17: RSS text is plain text, decoded once (by XML); escaped markup is text
        ("&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>", False),
        ("AT&amp;amp;T", "AT&amp;T", False),
        ("Example <b>Atom</b>", "Example <b>Atom</b>", True),  # inline markup (elements)
        ("<![CDATA[<i>x</i>]]>", "<i>x</i>", False),
    ],
)
def test_rss_title_html_detection(raw: str, title: str, is_html: bool) -> None:
    (entry,) = parse(rss(f"<item><title>{raw}</title></item>")).entries
    assert (entry.title, entry.title_is_html) == (title, is_html)


def test_relative_links_resolve_against_xml_base_and_feed_url() -> None:
    feed = parse(
        atom(
            '<entry xml:base="/other/"><link href="post.html"/><id>e</id>'
            '<content type="html" xml:base="https://cdn.example.net/x/">'
            "&lt;a href=&quot;a.html&quot;&gt;a&lt;/a&gt; &lt;img src='/i.png'&gt; "
            "&lt;a href=&quot;https://abs.example/&quot;&gt;b&lt;/a&gt; "
            "&lt;a href=&quot;//proto.example/p&quot;&gt;c&lt;/a&gt;</content></entry>",
            attrs='xml:base="https://base.example/root/"',
        ),
        url="https://ignored.example/feed",
    )
    (entry,) = feed.entries
    assert entry.link == "https://base.example/other/post.html"
    # content with an xml:base of its own is resolved by the parser
    assert entry.content == (
        '<a href="https://cdn.example.net/x/a.html">a</a> '
        "<img src='https://cdn.example.net/i.png'> "
        '<a href="https://abs.example/">b</a> <a href="https://proto.example/p">c</a>'
    )
    assert entry.base == "https://base.example/other/"  # the entry's own xml:base
    rel = parse(
        rss(
            "<item><link>../up</link><description>&lt;a href='x'&gt;x&lt;/a&gt; "
            "&lt;a href=y&gt;y&lt;/a&gt; &lt;img src='/i.png'&gt;</description></item>"
        )
    )
    (first,) = rel.entries
    assert first.link == "https://example.com/up"
    # the rest is left for the sanitiser, which resolves every URL against the document's URL
    # (quoted or not), not against the entry's link
    assert first.base == URL
    assert "href='x'" in first.summary
    assert clean_entry(first, source_id=1, feed_url=URL).summary_html == (
        '<a href="https://example.com/blog/x" rel="noopener noreferrer nofollow">x</a> '
        '<a href="https://example.com/blog/y" rel="noopener noreferrer nofollow">y</a> '
        '<img src="https://example.com/i.png">'
    )
    # the same with an xml:base on the item, and on the description itself
    based = parse(
        rss(
            '<item xml:base="https://items.example/a/"><link>p</link>'
            "<description>&lt;a href='x'&gt;x&lt;/a&gt;</description></item>"
            '<item><link>q</link><description xml:base="https://own.example/d/">'
            "&lt;a href='x'&gt;x&lt;/a&gt;</description></item>"
        )
    )
    item_based, own_based = based.entries
    assert (item_based.link, item_based.base) == (
        "https://items.example/a/p",
        "https://items.example/a/",
    )
    assert (
        "https://items.example/a/x"
        in clean_entry(item_based, source_id=1, feed_url=URL).summary_html
    )
    assert own_based.summary == "<a href='https://own.example/d/x'>x</a>"
    assert (
        "https://own.example/d/x" in clean_entry(own_based, source_id=1, feed_url=URL).summary_html
    )


def test_leading_whitespace_before_declaration_uses_fast_path() -> None:
    feed = parse("\n\n  " + rss("<item><title>x</title></item>", head='<?xml version="1.0"?>'))
    assert feed.warnings == () and feed.entries[0].title == "x"


def test_rss091_with_html_entities_goes_through_feedparser() -> None:
    doc = rss(
        "<item><title>caf&eacute;&nbsp;time</title><link>http://example.com/n</link>"
        "<description>&lt;p&gt;x&lt;/p&gt;</description>"
        "<pubDate>Sat, 07 Sep 2002 00:00:01 GMT</pubDate></item>",
        attrs='version="0.91"',
        head='<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
    )
    feed = parse(doc)
    (entry,) = feed.entries
    assert feed.version == "rss091n"
    assert feed.warnings[0].startswith("fallback parser used")
    assert entry.title == "café\xa0time"
    assert (entry.link, entry.summary) == ("http://example.com/n", "<p>x</p>")
    assert entry.published == datetime(2002, 9, 7, 0, 0, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Tue, 10 Jun 2003 04:00:00 GMT", datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
        ("10 Jun 2003 04:00 -0500", datetime(2003, 6, 10, 9, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 03 04:00:00 EDT", datetime(2003, 6, 10, 8, 0, tzinfo=UTC)),
        ("Thu, 01 January 2004 19:48:21 +01:00", datetime(2004, 1, 1, 18, 48, 21, tzinfo=UTC)),
        ("2003-12-31T10:14:55Z", datetime(2003, 12, 31, 10, 14, 55, tzinfo=UTC)),
        ("2003-12-31T10:14:55.123-08:00", datetime(2003, 12, 31, 18, 14, 55, 123000, UTC)),
        ("2003-12-31", datetime(2003, 12, 31, tzinfo=UTC)),
        ("2003-12-31T10:14Z", datetime(2003, 12, 31, 10, 14, tzinfo=UTC)),
        ("Sun Jan  4 16:29:06 PST 2004", datetime(2004, 1, 5, 0, 29, 6, tzinfo=UTC)),  # asctime
        ("2004-07-08 23:56:58.0", datetime(2004, 7, 8, 23, 56, 58, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 XYZ", datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
    ],
)
def test_dates_parse_to_aware_utc(value: str, expected: datetime) -> None:
    assert parse_date(value, now=NOW) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        # issue 17: nonsense (year 0, negative years, before 1970) is missing, not 1970
        ("0000-01-01T00:00:00Z", None),
        ("Mon, 01 Jan 0000 00:00:00 GMT", None),
        ("9999-12-31T23:59:59Z", NOW),
        ("9999-12-31T23:59:59-12:00", NOW),  # would overflow datetime when converted to UTC
        ("Fri, 31 Dec 9999 23:59:59 -1200", NOW),
        ("2999-01-01T00:00:00Z", NOW),
        ("1969-12-31T23:59:59Z", None),
        ("1900-01-01", None),
        ("-0001-01-01T00:00:00Z", None),
        ("not a date", None),
        ("", None),
        ("   ", None),
        ("31/31/31", None),
        ("99999999999999999999", NOW),  # feedparser's helper reads year 9999: far future
    ],
)
def test_absurd_dates_are_clamped_or_none(value: str, expected: datetime | None) -> None:
    result = parse_date(value, now=NOW)
    assert result == expected
    if result is not None:
        assert result.tzinfo is not None and EPOCH <= result <= NOW


def test_absurd_dates_in_a_feed() -> None:
    items = "".join(f"<item><title>{d}</title><pubDate>{d}</pubDate></item>"
                    for d in ("0000-01-01", "9999-12-31T00:00:00Z", "-5", "garbage", "-2000-01-01"))  # fmt: skip
    assert [e.published for e in parse(rss(items)).entries] == [None, NOW, None, None, None]


def test_now_defaults_to_current_time() -> None:
    before = datetime.now(UTC)
    result = parse_date("3000-01-01T00:00:00Z")
    assert result is not None and before <= result <= datetime.now(UTC)
    assert parse_date("2001-01-01T00:00:00", now=datetime(2020, 1, 1)) == datetime(
        2001, 1, 1, tzinfo=UTC
    )


# --------------------------------------------------------------------------- encodings


def _title(body: bytes, content_type: str | None = None) -> str | None:
    return parse(body, content_type=content_type).entries[0].title


LATIN1 = '<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><item><title>caf\xe9</title></item></channel></rss>'


def test_declared_utf8_with_latin1_bytes() -> None:
    assert _title(LATIN1.format(enc="utf-8").encode("latin-1")) == "café"


def test_declared_encoding_wrong_does_not_crash() -> None:
    # Declared latin-1 but bytes are UTF-8: read as declared (mojibake), never an exception.
    assert _title(LATIN1.format(enc="iso-8859-1").encode("utf-8")) == "cafÃ©"
    assert _title(LATIN1.format(enc="x-no-such-codec").encode("utf-8")) == "café"
    assert _title(LATIN1.format(enc="utf-16").encode("utf-8")) is not None


def test_http_charset_is_respected() -> None:
    body = LATIN1.format(enc="iso-8859-1").encode("utf-8")
    assert _title(body, "application/rss+xml; charset=utf-8") == "café"
    no_decl = LATIN1.replace(' encoding="{enc}"', "").encode("windows-1252")
    assert _title(no_decl, "text/xml; charset=windows-1252") == "café"
    # A wrong HTTP charset does not beat a document that is valid UTF-8 as declared.
    assert _title(LATIN1.format(enc="utf-8").encode(), "text/xml; charset=iso-8859-1") == "café"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_unicode_encodings_and_boms(codec: str) -> None:
    body = LATIN1.format(enc=codec.removesuffix("-sig")).encode(codec)
    assert _title(body) == "café"


# --------------------------------------------------------------------------- hostile documents


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and refuse) any socket connection made while parsing."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret-4f1c.txt"
    path.write_text("SECRET-MARKER-4f1c\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("force_fallback", [False, True])
def test_xxe_general_entities_are_never_resolved(
    secret: Path, no_network: list[object], force_fallback: bool
) -> None:
    extra = "&nbsp;" if force_fallback else ""
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">'
        '<!ENTITY p SYSTEM "file:///etc/passwd"><!ENTITY n SYSTEM "http://127.0.0.1:9/x">]>'
        f'<rss version="2.0"><channel><title>t{extra}</title><item><title>&x;&p;</title>'
        "<description>&x;&p;&n;</description></item></channel></rss>"
    )
    feed = parse(doc)
    text = all_text(feed)
    assert "SECRET-MARKER" not in text and "root:" not in text
    assert len(feed.entries) == 1
    assert no_network == []


@pytest.mark.parametrize(
    "content", ['<!ENTITY leak "SECRET-MARKER-4f1c">', "SECRET-MARKER-4f1c is not a DTD"]
)
def test_xxe_external_parameter_entities_are_never_read(
    secret: Path, no_network: list[object], content: str
) -> None:
    # With collect_ids=False, libxml2 2.14 read such files despite load_dtd=False, and the
    # error message for an invalid one named the file. Neither name nor content may surface.
    secret.write_text(content, encoding="utf-8")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY % p SYSTEM "file://{secret}">\n%p;\n'
        '<!ENTITY % q SYSTEM "http://127.0.0.1:9/evil.dtd">\n%q;\n]>\n'
        '<rss version="2.0"><channel><item><title>&leak;</title></item></channel></rss>'
    )
    text = all_text(parse(doc))
    assert "SECRET-MARKER" not in text and secret.name not in text
    assert no_network == []


def test_a_path_as_body_is_never_opened(tmp_path: Path) -> None:
    # feedparser.parse(bytes) tries open(bytes) first; we must hand it a stream.
    target = tmp_path / "feed.xml"
    target.write_bytes(rss("<item><title>FROM DISK</title></item>").encode())
    with pytest.raises(ParseError):
        parse(str(target).encode())
    with pytest.raises(ParseError):
        parse(b"https://127.0.0.1:9/feed.xml")


def _bounded(doc: bytes, limit_mb: float = 64) -> ParsedFeed:
    tracemalloc.start()
    try:
        feed = parse(doc)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < limit_mb * 1e6
    out = sum(len(s) for e in feed.entries for s in (e.title or "", e.summary or ""))
    assert out <= 10 * len(doc)
    return feed


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>t{extra}</title><item><title>&lol9;</title>'
    "<description>&lol9;&lol9;</description></item></channel></rss>"
)  # fmt: skip


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
@pytest.mark.parametrize("extra", ["", "&nbsp;"])
def test_billion_laughs_is_not_expanded(codec: str, extra: str) -> None:
    doc = BILLION_LAUGHS.replace("{extra}", extra)
    if codec != "utf-8":
        doc = doc.replace('version="1.0"?>', f'version="1.0" encoding="{codec}"?>', 1)
    feed = _bounded(doc.encode(codec))
    assert "lollollol" not in all_text(feed)
    assert len(feed.entries) == 1


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
@pytest.mark.parametrize("extra", ["", "&nbsp;"])
def test_quadratic_blowup_is_not_expanded(codec: str, extra: str) -> None:
    # One line per declaration: the layout feedparser's own DTD filter recognises, and whose
    # 10 kB entity its loose parser would expand 4,000 times (40 MB) if we let it through.
    doc = (
        f'<?xml version="1.0" encoding="{codec}"?>\n<!DOCTYPE rss [\n<!ENTITY a "{"A" * 10_000}">\n]>\n'
        f'<rss version="2.0"><channel><title>t{extra}</title><item><title>x</title>'
        f"<description>{'&a;' * 4_000}</description></item></channel></rss>"
    )  # fmt: skip
    feed = _bounded(doc.encode(codec), limit_mb=24)
    assert "A" * 1000 not in all_text(feed)
    assert len(feed.entries) == 1


def test_neutralise_dtd_keeps_only_short_plain_entities() -> None:
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//X//EN" "http://x/rss.dtd" [\n'
        "<!ENTITY copy \"&#169;\"> <!ENTITY who 'Ann'> <!-- ] > tricky -->\n"
        '<!ENTITY long "' + "x" * 100 + '"> <!ENTITY nest "&copy;&copy;">\n'
        '<!ENTITY ext SYSTEM "file:///etc/passwd"> <!ENTITY % pe "x"> %pe;\n'
        "]>\n<rss><channel><title>&copy;&who;&long;</title></channel></rss>"
    )
    out = neutralise_dtd(doc)
    assert '<!ENTITY copy "&#169;">' in out and '<!ENTITY who "Ann">' in out
    for gone in ("long", "nest", "ext", "% pe", "%pe;", "passwd", "tricky"):
        assert gone not in out.split("<rss>")[0], gone
    assert out.endswith("<rss><channel><title>&copy;&who;&long;</title></channel></rss>")
    assert 'PUBLIC "-//X//EN" "http://x/rss.dtd"' in out
    unterminated = neutralise_dtd('<!DOCTYPE rss [<!ENTITY a "b"<rss/>')
    assert "<!ENTITY" not in unterminated and unterminated.endswith("<rss/>")
    body_only = "<rss><!DOCTYPE x [<!ENTITY a 'b'>]></rss>"  # not in the prolog: left alone
    assert neutralise_dtd(body_only) == body_only
    stray = (
        '<!ENTITY a "b">\n<!DOCTYPE rss [\n<!ENTITY c "d">\n]>\n<!EN<!ENTITY x>TITY e "f">\n<rss/>'
    )
    out = neutralise_dtd(stray)
    assert out.count("<!ENTITY") == 1 and '<!ENTITY c "d">' in out


@pytest.mark.parametrize(
    "prolog",
    [
        '<!ENTITY a "{value}">\n<!DOCTYPE rss>\n',  # declared outside any DOCTYPE
        '<!DOCTYPE rss [\n]>\n<!ENTITY a "{value}">\n',
        '<!DOCTYPE rss [\n<!ENTITY a "{value}">\n<!-- ] -->\n]>\n',
    ],
)
def test_stray_entity_declarations_are_not_expanded(prolog: str) -> None:
    # feedparser honours <!ENTITY> lines anywhere before the root if there is one DOCTYPE.
    head = '<?xml version="1.0"?>\n' + prolog.replace("{value}", "A" * 10_000)
    doc = head + rss(f"<item><title>x</title><description>{'&a;' * 4_000}</description></item>")
    feed = _bounded(doc.encode(), limit_mb=24)
    assert "A" * 1000 not in all_text(feed)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n\t ",
        b"<!DOCTYPE html><html><head><title>Page</title></head><body><p>x</p></body></html>",
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body/></html>',
        b"<HTML><BODY>old &nbsp; page<P>unclosed</BODY>",
        b"just some plain text, not a feed",
        bytes(range(256)) * 8,
        b"<?xml version='1.0'?><catalog><book><title>t</title></book></catalog>",
        b"\x00\x00\x00\x00",
    ],
)
def test_not_a_feed_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body, content_type="text/html; charset=utf-8")


def test_empty_but_valid_feeds_are_feeds() -> None:
    assert parse(rss("")).entries == ()
    assert parse(atom("")).version == "atom10"
    assert parse(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}').entries == ()


def _resolve_html_by_search(html: str, base: str) -> str:
    """The plain reading of the rule, for comparison: find each attribute name anywhere, keep
    those after a delimiter and followed by ``= "value"``, resolve the relative values."""
    import html as html_lib
    import re

    def as_read(raw: str) -> str:  # the URL standard: tabs/newlines out, leading C0/space off
        decoded = html_lib.unescape(raw)
        return re.sub("[\t\n\r]", "", decoded).lstrip("".join(chr(c) for c in range(0x21)))

    from curation.ingest.parse.common import _ATTR_VALUE, _SCHEME, resolve

    fixes = []
    for name in ("href", "src", "poster"):
        for m in re.finditer(re.escape(name), html, re.IGNORECASE):
            i = m.start()
            value = _ATTR_VALUE.match(html, m.end())
            if (
                value
                and (i == 0 or html[i - 1] in " \t\r\n\"'/")
                # the scheme as a browser reads it, after character references
                and not _SCHEME.match(as_read(value.group(2)))
            ):
                fixes.append((value.start(2), value.end(2), resolve(base, value.group(2).strip())))
    out, last = [], 0
    for start, end, fixed in sorted(fixes):
        out += (html[last:start], fixed or "")
        last = end
    return "".join(out) + html[last:]


def test_resolve_html_agrees_with_a_plain_search() -> None:
    """resolve_html scans the "=" signs instead of every occurrence of each attribute name; on
    random markup (cases, spacing, quotes, look-alike names, values holding "=") and on the HTML
    of tests/data's feeds and of the shared corpus (when present) it must change exactly what a
    plain search would."""
    import random

    from curation.ingest.parse.common import resolve_html

    rnd = random.Random(7)
    pieces = [
        "<a href=", "<A HREF =", "<img src=", "<img\tSrc\n=\n", "<video poster=", "xhref=",
        "data-src=", "/src=", " href= ", "text = words ", "a=b", "<p>", "</p>", "é",
    ]  # fmt: skip
    values = ['"rel/a"', "'../b?x=1&y=2'", '"https://abs.example/c"', '"mailto:x@y"', '""',
              '"  spaced  "', "'mixed\"", "unquoted", '"/root"', "'//proto.example/rel'"]  # fmt: skip
    samples = [
        "".join(rnd.choice(pieces) + rnd.choice(values) for _ in range(rnd.randint(1, 8)))
        for _ in range(3000)
    ]
    import re

    samples += fixture_feeds.html_fields()  # tests/data, always; the shared corpus when present
    paths = fixture_feeds.documents()
    if SHARED_FEEDS.is_dir():
        paths += sorted(SHARED_FEEDS.rglob("*.xml"))[:1500]
    for path in paths:
        text = path.read_bytes().decode("utf-8", "replace")
        samples.extend(re.findall(r"<[^<>]*=[^<>]*>", text)[:20])
    base = "https://example.org/dir/feed.xml"
    changed = 0
    for html in samples:
        expected = _resolve_html_by_search(html, base)
        assert resolve_html(html, base) == expected, html
        changed += expected != html
    assert changed > 1000


def test_fixed_width_rfc822_dates_read_like_the_general_rule() -> None:
    """``Sun, 01 Nov 2026 10:00:00 GMT`` is read by position; on well- and ill-formed variants
    of that shape (impossible days and hours, case, non-ASCII digits, early years, other
    zones, shifted separators) the result must be the general rule's."""
    import random

    from curation.ingest.parse.dates import _rfc822, _rfc822_general

    rnd = random.Random(11)
    fixed_width = 0
    for _ in range(20000):
        day = rnd.choice(["01", "31", "30", "29", "00", "1x", "\u06631", " 1", "99"])
        month = rnd.choice(["Jan", "Feb", "nov", "NOV", "Xyz", "Sep", "Dec"])
        year = rnd.choice(["2026", "1969", "1970", "2024", "0000", "9999", "20x6"])
        clock = f"{rnd.choice(['00', '23', '24', '9 '])}:{rnd.choice(['00', '59', '60'])}"
        clock += f":{rnd.choice(['00', '59', '60', '61'])}"
        zone = rnd.choice([" GMT", " GMT", " gmt", " UTC", "+GMT"])
        sep = rnd.choice([", ", ",  ", " ,"])
        value = f"{rnd.choice(['Sun', 'Mon', 'xyz'])}{sep}{day} {month} {year} {clock}{zone}"
        assert _rfc822(value) == _rfc822_general(value), value
        fixed_width += len(value) == 29 and value.endswith(" GMT")
    assert fixed_width > 5000


def test_as_read_skips_passes_without_changing_the_reading() -> None:
    """``_as_read`` skips the tab/newline pass when the value holds none: on random values
    (references, tabs, line breaks, controls, spaces, schemes) it equals the plain rule."""
    import html as html_lib
    import random
    import re

    from curation.ingest.parse.common import _as_read

    def plain(raw: str) -> str:
        decoded = html_lib.unescape(raw) if "&" in raw else raw
        return re.sub("[\t\n\r]", "", decoded).lstrip("".join(chr(c) for c in range(0x21)))

    rnd = random.Random(1612)
    pieces = ["java", "script", ":", "http", "//x", "&#x61;", "&#9;", "&Tab;", "&NewLine;",
              "\t", "\n", "\r", "\x00", "\x1f", " ", "&amp;", "&", "é", "/a", "?q=1"]  # fmt: skip
    for _ in range(5_000):
        raw = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 7)))
        assert _as_read(raw) == plain(raw), raw
