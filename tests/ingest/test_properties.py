"""Property-based tests (Hypothesis) for the parsers, the sanitiser, URL canonicalisation and
date handling (issue 17): whatever the input, no exception other than our own error types, no
unsafe output (no script, event handler or non-http(s) URL after sanitising; only http(s) URLs
stored), and bounded sizes.

Bounded in time and stable in CI: a fixed number of examples, a deadline, derandomised, and no
example database (``database=None``).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import lxml.html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.errors import ParseError
from curation.ingest.clean import canonical_url, clean_entry, sanitize_html
from curation.ingest.clean.limits import (
    MAX_AUTHOR_CHARS,
    MAX_CONTENT_HTML_CHARS,
    MAX_SUMMARY_HTML_CHARS,
    MAX_TEXT_CHARS,
    MAX_URL_CHARS,
    cut_html,
)
from curation.ingest.clean.source import source_link, source_title
from curation.ingest.clean.text import _cut, clean_text
from curation.ingest.parse import parse_date, parse_feed
from curation.ingest.parse.dates import EPOCH
from curation.ingest.records import ParsedEntry, ParsedFeed
from curation.textrules import CONTROL_RE
from tests.helpers.safety import SAFE_ATTRS, SAFE_TAGS

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
FEED = "https://example.org/feed"

BOUNDED = settings(
    max_examples=150,
    deadline=2000,  # ms per example: generous for a slow shared CI machine
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Pieces hostile documents are made of: markup, entities, schemes, controls, odd characters.
ATOMS = [
    "<", ">", "&", ";", '"', "'", "=", "/", " ", "\n", "\t", "\x00", "\x01", "\x85", "\ufeff",
    "\ud7ff", "é", "🙂", "\u200d", "&amp;", "&lt;", "&#0;", "&#x6A;", "&nbsp;", "&bogus;",
    "<script>", "</script>", "<b>", "</b>", "<p>", "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>", "<a href=' jav&#x09;ascript:x'>", "</a>", "<svg>",
    "<style>", "<iframe src=//evil>", "<!--", "-->", "<![CDATA[", "]]>", "data:", "javascript:",
    "vbscript:", "http://", "https://", "//", "user:pw@", "?utm_source=x", "#frag", "%00", "%2F",
    "<div>", "</div>", "<table><tr><td>", "<h1>", "<br>", "<xmp>", "<textarea>", "<math>",
]  # fmt: skip
fragments = st.lists(st.one_of(st.sampled_from(ATOMS), st.text(max_size=8)), max_size=40).map(
    "".join
)
xml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=60,
)


def structurally_safe(html: str) -> None:
    """Sanitised output holds only allowed elements and attributes, http(s)/mailto URLs that
    are absolute, and no event handler, comment or control character (text may say anything)."""
    assert CONTROL_RE.search(html) is None
    if not html.strip():
        return
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for el in root.iterdescendants():
        assert isinstance(el.tag, str), html
        assert el.tag in SAFE_TAGS, html
        for name, value in el.attrib.items():
            assert name in SAFE_ATTRS.get(el.tag, set()), html
            if name in ("href", "src"):
                parts = urlsplit(value)
                assert parts.scheme in (
                    {"http", "https"} | ({"mailto"} if name == "href" else set())
                )
                assert parts.scheme == "mailto" or parts.netloc, html


def assert_http(url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    assert parts.scheme.lower() in ("http", "https") and parts.hostname, url
    assert "@" not in parts.netloc, url
    assert len(url) <= MAX_URL_CHARS


def rss_document(title: str, link: str, description: str, date: str, home: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(home)}</link>"
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(description)}</description><pubDate>{escape(date)}</pubDate>"
        "</item></channel></rss>"
    ).encode()


def check_feed(feed: ParsedFeed) -> None:
    for entry in feed.entries:
        item = clean_entry(entry, source_id=1, feed_url=FEED)
        structurally_safe(item.summary_html)
        structurally_safe(item.content_html)
        assert_http(item.url)
        assert len(item.title) <= 500 and CONTROL_RE.search(item.title) is None
        assert len(item.author or "") <= MAX_AUTHOR_CHARS
        assert len(item.summary_html) <= MAX_SUMMARY_HTML_CHARS
        assert len(item.content_html) <= MAX_CONTENT_HTML_CHARS
        assert len(item.text) <= MAX_TEXT_CHARS
        for value in (item.published_at, item.updated_at):
            assert value is None or EPOCH <= value <= NOW
    assert_http(source_link(feed.link, FEED))
    assert len(source_title(feed.title) or "") <= 500


def parses_safely(body: bytes) -> None:
    """``body`` is refused with our ParseError, or parses into a feed that passes check_feed."""
    try:
        feed = parse_feed(body, url=FEED, now=NOW)
    except ParseError:
        return
    check_feed(feed)


# --------------------------------------------------------------------------- parsers


@BOUNDED
@given(st.binary(max_size=3000))
def test_any_bytes_parse_or_raise_parse_error(body: bytes) -> None:
    parses_safely(body)


@BOUNDED
@given(fragments, fragments, fragments, fragments, fragments, st.booleans())
def test_hostile_rss_fields_parse_safely_on_both_paths(
    title: str, link: str, description: str, date: str, home: str, ill_formed: bool
) -> None:
    body = rss_document(title, link, description, date, home)
    if ill_formed:
        body += b"&nbsp;"  # lxml refuses it: the feedparser fallback reads it
    parses_safely(body)


@BOUNDED
@given(st.text(max_size=400))
def test_any_raw_document_text_parses_or_raises(text: str) -> None:
    for wrapped in (text, f"<rss version='2.0'><channel>{text}", f'{{"version": {text!r}}}'):
        parses_safely(wrapped.encode("utf-8", "surrogatepass"))


@BOUNDED
@given(xml_text)
def test_both_parsers_read_a_plain_title_as_the_same_text(title: str) -> None:
    body = rss_document(title, "https://example.org/a", "d", "", "https://example.org/")
    fast = parse_feed(body, url=FEED, now=NOW)
    slow = parse_feed(body + b"&nbsp;", url=FEED, now=NOW)
    expected = unicodedata.normalize("NFC", " ".join(title.split()))
    for feed in (fast, slow):
        (entry,) = feed.entries
        assert not entry.title_is_html
        got = clean_entry(entry, source_id=1, feed_url=FEED).title
        assert got == (expected[:499] + "…" if len(expected) > 500 else expected) or (
            not expected and got  # no title: a made-up one
        )


# --------------------------------------------------------------------------- cleaning


@BOUNDED
@given(fragments, st.one_of(st.none(), fragments))
def test_sanitiser_output_is_safe(html: str, base: str | None) -> None:
    out = sanitize_html(html, base_url=base)
    structurally_safe(out)
    assert (
        "javascript:"
        not in "".join(
            lxml.html.fragment_fromstring(out or "<p></p>", create_parent="div").xpath(
                "//@href | //@src"
            )
        ).lower()
    )


@BOUNDED
@given(fragments, st.integers(min_value=0, max_value=400))
def test_cut_sanitised_html_is_safe_and_bounded(html: str, cap: int) -> None:
    out = cut_html(sanitize_html(html * 5, base_url=FEED), cap)
    assert len(out) <= cap
    structurally_safe(out)


@BOUNDED
@given(
    st.builds(
        ParsedEntry,
        guid=st.one_of(st.none(), fragments),
        title=st.one_of(st.none(), fragments),
        title_is_html=st.booleans(),
        link=st.one_of(st.none(), fragments),
        summary=st.one_of(st.none(), fragments),
        content=st.one_of(st.none(), fragments),
        author=st.one_of(st.none(), fragments),
    )
)
def test_clean_entry_output_is_safe_and_bounded(entry: ParsedEntry) -> None:
    item = clean_entry(entry, source_id=1, feed_url=FEED)
    structurally_safe(item.summary_html)
    structurally_safe(item.content_html)
    assert_http(item.url)
    assert item.title and len(item.title) <= 500 and CONTROL_RE.search(item.title) is None


# --------------------------------------------------------------------------- URLs


@BOUNDED
@given(fragments, st.one_of(st.none(), st.sampled_from([FEED, "http://h.example/a/b?c"])))
def test_canonical_url_is_http_and_idempotent(url: str, base: str | None) -> None:
    canonical = canonical_url(url, base_url=base)
    if canonical is None:
        return
    parts = urlsplit(canonical)
    assert parts.scheme in ("http", "https") and parts.hostname
    assert "@" not in parts.netloc and not parts.fragment
    assert canonical_url(canonical) == canonical


@BOUNDED
@given(fragments)
def test_site_links_are_http_without_credentials(link: str) -> None:
    assert_http(source_link(link, FEED))
    assert_http(source_link(link, None))


# --------------------------------------------------------------------------- dates


@BOUNDED
@given(st.one_of(fragments, st.text(max_size=40)))
def test_any_date_text_is_none_or_in_range(value: str) -> None:
    result = parse_date(value, now=NOW)
    assert result is None or (result.tzinfo is not None and EPOCH <= result <= NOW)


@BOUNDED
@given(
    st.integers(-3000, 12000),
    st.integers(-1, 14),
    st.integers(-1, 33),
    st.integers(0, 25),
    st.integers(-900, 900),
)
def test_iso_dates_are_exact_or_missing(
    year: int, month: int, day: int, hour: int, off: int
) -> None:
    sign = "-" if off < 0 else "+"
    value = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}"
    result = parse_date(value, now=NOW)
    try:
        naive = datetime(year, month, day, hour)
    except ValueError:
        assert result is None, value  # impossible fields: missing, never rolled over
        return
    if abs(off) > 14 * 60:
        assert result is None, value
        return
    try:
        expected = (naive - timedelta(minutes=off)).replace(tzinfo=UTC)
    except OverflowError:
        assert result in (None, NOW)
        return
    if expected < EPOCH:
        assert result is None, value
    else:
        assert result == min(expected, NOW), value


# a long text with runs of whitespace and controls, combining marks, joiners and emoji: what an
# excerpt is cut from
_EXCERPT_PIECES = st.sampled_from(
    [
        "word",
        " ",
        "\n\n\t  ",
        "\x00\x07",
        "e\u0301",
        "\u0301",
        "\U0001f469\u200d\U0001f4bb",
        "\ufe0f",
        "long" * 30,
        " " * 300,
        "\x1b" * 100,
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(_EXCERPT_PIECES, max_size=120), cap=st.integers(1, 80))
def test_an_excerpt_of_a_long_text_is_what_cleaning_all_of_it_gives(
    pieces: list[str], cap: int
) -> None:
    """clean_text with max_chars cleans only a head of a long value; the result is the same as
    cleaning the whole value and then cutting it."""
    value = "".join(pieces)
    whole = clean_text(value)
    expected = whole if len(whole) <= cap else _cut(whole, cap)
    assert clean_text(value, max_chars=cap) == expected
    assert len(clean_text(value, max_chars=cap)) <= cap
