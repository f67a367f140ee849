"""Feed documents (bytes) → :class:`~curation.entries.ParsedFeed`; the one place that knows formats.

Owns format detection, character decoding, date parsing and clamping, and URL resolution (entry
links and ids, and quoted ``href``/``src``/``poster`` values in HTML fields) against ``xml:base``
and the feed URL:

- a fast path with ``lxml.etree`` for well-formed RSS 0.90/0.9x/1.0/2.0 and Atom 0.3/1.0;
- a fallback to feedparser 6 for everything else (ill-formed XML, HTML entities such as ``&nbsp;``
  from an RSS 0.91 DTD, unknown roots, bytes invalid in the declared encoding);
- JSON Feed 1.0/1.1 in :mod:`curation.parse_json`.

It does not sanitise HTML, strip control characters or derive fallback GUIDs: the cleaner does.
Version names follow feedparser's (``rss091u``/``rss091n``, ``rss20``, ``atom10``, …) so that
both paths agree; JSON Feed gives ``json10``/``json11``.

Safety. lxml runs with ``resolve_entities=False, no_network=True, load_dtd=False,
huge_tree=False`` and a resolver that refuses every external DTD or entity, so nothing is
expanded or read; documents that declare or use entities take the fallback. feedparser's own
DTD filter keeps internal entities of any length and its loose parser expands them without
limit (pyexpat 2.5's amplification limit only stops the strict parser), so before the fallback
the body is decoded here and its prolog rebuilt by :func:`neutralise_dtd`. feedparser always
gets a stream, never bytes or a string, which it would try to open as a path or fetch as a URL.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import re
import threading
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from html import escape, unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.datetimes import _parse_date as _feedparser_date
from lxml import etree

from curation.entries import ParsedEntry, ParsedFeed
from curation.errors import ParseError
from curation.parse_json import parse_json_feed

__all__ = ["neutralise_dtd", "parse_date", "parse_feed"]

ATOM10 = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
XHTML = "http://www.w3.org/1999/xhtml"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
RDF_ABOUT = f"{{{RDF}}}about"
_RSS_NAMESPACES = (
    "",
    RSS10,
    RSS090,
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_RSS_ITEM = {
    (f"{{{ns}}}{name}" if ns else name): name
    for ns in _RSS_NAMESPACES
    for name in ("title", "link", "guid", "description", "pubDate", "author", "body", "fullitem")
}
_RSS_ITEM.update(
    (f"{{{ns}}}{name}", f"{prefix}:{name}")
    for ns, prefix, names in (
        (DC, "dc", "title description creator author date"),
        (DCTERMS, "dcterms", "issued modified"),
        (CONTENT, "content", "encoded"),
        (XHTML, "xhtml", "body"),
        (ATOM10, "atom", "link published updated"),
        ("http://www.itunes.com/dtds/podcast-1.0.dtd", "itunes", "author summary"),
        ("http://www.itunes.com/DTDs/Podcast-1.0.dtd", "itunes", "author summary"),
        ("http://search.yahoo.com/mrss/", "media", "title"),
    )
    for name in names.split()
)
_ATOM_NAMES = (
    "title link id summary content author source published issued created updated modified"
)
_ATOM_ENTRY = {ns: {f"{{{ns}}}{n}": n for n in _ATOM_NAMES.split()} for ns in (ATOM10, ATOM03)}
_HTML_TYPES = frozenset({"html", "text/html", "xhtml", "application/xhtml+xml"})
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source"]
    + ["track", "wbr"]
)
_ALTERNATE = ("alternate", "http://www.iana.org/assignments/relation/alternate")

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HTMLISH = re.compile(
    r"<[A-Za-z/!]|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
)
_ATTR_VALUE = re.compile(r"""\s*=\s*(["'])([^"'<>]*)\1""")
_TAG = re.compile(r"<[A-Za-z/!?][^>]*(?:>|$)")
_NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?(?:-->|$)", re.IGNORECASE | re.DOTALL)
_MAX_PLAIN = 100_000
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_XML_DECL_ENC = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_TEXT_DECL_ENC = re.compile(r"""^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*)(["'])[^"']*\2""")
_FIRST_TAG = re.compile(rb"<([A-Za-z][\w:.\-]*)")
_MARKUP_DECL = re.compile(rb"<!--.*?-->|<[!?][^>]*>", re.DOTALL)
_WIDE = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"), (b"\x00\x00\x00<", "utf-32-be"),
         (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
         (b"<\x00?\x00", "utf-16-le"))  # fmt: skip


# --------------------------------------------------------------------------- public API


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse one feed document. Raises :class:`ParseError` when it is not a feed at all."""
    now = _utc_now(now)
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ParseError("feed body must be bytes", resource_id=url)
    body = bytes(body)
    head = body[:4].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not head:
        raise ParseError("empty document", resource_id=url)
    ctype = (content_type or "").lower()
    if head == b"{" or (head != b"<" and "json" in ctype):
        return parse_json_feed(body, url=url, date=lambda s: _date(s, now))
    if body[:1] in b" \t\r\n":
        body = body.lstrip(b" \t\r\n")  # "XML declaration allowed only at the start"
    try:
        feed = _fast_path(body, url, content_type, now)
    except etree.XMLSyntaxError as exc:
        reason = f"not well-formed XML ({exc})"
    except Exception as exc:  # an lxml or fast-path surprise: feedparser gets its chance
        reason = f"fast path failed ({type(exc).__name__}: {exc})"
    else:
        if isinstance(feed, ParsedFeed):
            return feed
        reason = feed
    return _fallback(body, url=url, content_type=content_type, now=now, reason=reason)


def parse_date(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """RFC 822, ISO 8601/RFC 3339 or any form feedparser knows → aware UTC datetime, or None.

    The result is clamped into [1970-01-01T00:00Z, now]: absurd years never crash.
    """
    return _date(value, _utc_now(now)) if value and isinstance(value, str) else None


# --------------------------------------------------------------------------- dates

_MONTHS = {"janfebmaraprmayjunjulaugsepoctnovdec"[i : i + 3]: i // 3 + 1 for i in range(0, 36, 3)}
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
          "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}  # fmt: skip
_RFC822_RE = re.compile(
    r"(?:[A-Za-z]{2,9}\.?,?\s*)?(\d{1,2})[\s\-]+([A-Za-z]{3,9})\.?[\s\-]+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d{1,9})?\s*([A-Za-z]{1,5}|[+\-]\d{2}:?\d{2})?\s*"
)


def _date(value: str | None, now: datetime) -> datetime | None:
    """:func:`parse_date` for a ``now`` that is already aware UTC."""
    s = value.strip() if value else None
    if not s:
        return None
    dt: datetime | None = None
    if s[0] == "-" and len(s) > 4 and s[1:5].isdigit():
        return EPOCH  # a negative (BCE) year
    if s[:4].isdigit():
        try:
            dt = datetime.fromisoformat(s if s[-1] != "z" else s[:-1] + "Z")
        except ValueError:
            dt = None
        if dt is not None:
            try:
                dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
            except (OverflowError, ValueError):
                return now if dt.year > 1970 else EPOCH
    else:
        dt = _rfc822(s)
    if dt is not None:
        return EPOCH if dt < EPOCH else now if dt > now else dt
    try:
        st = _feedparser_date(s)
    except Exception:  # feedparser's helpers raise more than they catch on hostile input
        return None
    return _from_struct(st, now)


def _rfc822(s: str) -> datetime | None:
    """``[Day,] DD Mon YYYY HH:MM[:SS] zone`` → UTC datetime; None for anything else."""
    m = _RFC822_RE.fullmatch(s)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, zone = m.groups()
    month = _MONTHS.get(mon[:3].lower())
    if month is None:
        return None
    y = int(year)
    if len(year) == 2:
        y += 2000 if y < 50 else 1900
    if zone is None:
        offset = 0
    elif zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 60 + int(digits[2:])
        offset = -offset if zone[0] == "-" else offset
    elif zone.lower() in _ZONES:
        offset = _ZONES[zone.lower()] * 60
    else:
        return None  # unknown zone name: let feedparser's helper try
    if y < 1970:
        return EPOCH  # clamped anyway; year 0 cannot even be represented
    try:
        naive = datetime(y, month, int(day), int(hh), int(mm), int(ss or 0))
        return (naive - timedelta(minutes=offset) if offset else naive).replace(tzinfo=UTC)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)  # beyond year 9999: clamped to now
    except ValueError:
        return None


def _from_struct(st: Any, now: datetime) -> datetime | None:
    if not st:
        return None
    try:
        year = int(st[0])
        dt = datetime(*(int(x) for x in st[:6]), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError, IndexError):
        try:
            return EPOCH if int(st[0]) < 1970 else now
        except (TypeError, ValueError, IndexError):
            return None
    return EPOCH if year < 1970 or dt < EPOCH else now if dt > now else dt


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


# --------------------------------------------------------------------------- text helpers


def _resolve(base: str | None, ref: str | None) -> str | None:
    if not ref:
        return None
    if not base or _SCHEME.match(ref):
        return ref
    if ref[0] == "/" and ref[1:2] != "/" and "/." not in ref and (origin := _origin(base)):
        return origin + ref  # the common root-relative case, without urljoin's cost
    try:
        return urljoin(base, ref)
    except ValueError:
        return ref


@lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _resolve_html(html: str, base: str | None) -> str:
    """Resolve relative ``href``/``src``/``poster`` attribute values (quoted) against ``base``."""
    if not base:
        return html
    low = html.lower()
    names = [name for name in ("href", "src", "poster") if name in low]
    fixes = []
    for name in names:
        i = low.find(name)
        while i >= 0:
            m = _ATTR_VALUE.match(html, i + len(name))
            if m and (i == 0 or low[i - 1] in " \t\r\n\"'/") and not _SCHEME.match(m.group(2)):
                fixes.append((m.start(2), m.end(2), _resolve(base, m.group(2).strip()) or ""))
            i = low.find(name, i + len(name))
    if not fixes:
        return html
    out, last = [], 0
    for start, end, value in sorted(fixes):
        out += (html[last:start], value)
        last = end
    out.append(html[last:])
    return "".join(out)


def _html_to_plain(value: str | None) -> str | None:
    """Rough text of a short HTML string (feed titles): no scripts, styles, comments or tags."""
    if not value:
        return None
    text = unescape(_TAG.sub("", _NOT_TEXT.sub("", value[:_MAX_PLAIN])))
    return " ".join(text.split()) or None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _inner_html(el: Any) -> str:
    """Serialise an element's content (text and children) as HTML without namespaces."""
    parts: list[str] = [escape(el.text, quote=False)] if el.text else []
    for child in el:
        _serialise(child, parts)
    return "".join(parts)


def _serialise(el: Any, parts: list[str]) -> None:
    if isinstance(el.tag, str):
        name = _local(el.tag)
        parts.append("<" + name)
        for key, value in el.attrib.items():
            attr = (
                "xml:" + _local(key)
                if key.startswith("{http://www.w3.org/XML/1998")
                else _local(key)
            )
            parts.append(f' {attr}="{escape(value)}"')
        if name.lower() in _VOID and not el.text and not len(el):
            parts.append(" />")
        else:
            parts.append(">")
            if el.text:
                parts.append(escape(el.text, quote=False))
            for child in el:
                _serialise(child, parts)
            parts.append(f"</{name}>")
    if el.tail:
        parts.append(escape(el.tail, quote=False))


def _text(el: Any) -> str | None:
    """Plain text of a simple element, stripped; None when empty."""
    if el is None:
        return None
    text = el.text if not len(el) else "".join(el.itertext())
    return text.strip() or None if text else None


def _strip(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _base(el: Any, base: str | None) -> str | None:
    b = el.get(XML_BASE)
    return _resolve(base, b.strip()) if b else base


# --------------------------------------------------------------------------- fast path (lxml)

_parsers = threading.local()


class _RefuseAll(etree.Resolver):
    """Answers every external DTD/entity request with nothing: no file or URL is ever read."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        return self.resolve_string("", context)


def _parser(encoding: str | None) -> etree.XMLParser:
    """A per-thread lxml parser. Do not add ``collect_ids=False``: with libxml2 2.14 it makes
    the parser read external parameter entities (``<!ENTITY % p SYSTEM "file:///…"> %p;``)
    from local files despite ``load_dtd=False``; the resolver refuses them regardless."""
    cache: dict[str | None, etree.XMLParser] | None = getattr(_parsers, "cache", None)
    if cache is None:
        cache = _parsers.cache = {}
    parser = cache.get(encoding)
    if parser is None:
        parser = etree.XMLParser(
            encoding=encoding, resolve_entities=False, no_network=True, load_dtd=False,
            huge_tree=False, remove_comments=True, remove_pis=True,
        )  # fmt: skip
        parser.resolvers.add(_RefuseAll())
        if len(cache) < 16:
            cache[encoding] = parser
    return parser


def _fast_path(body: bytes, url: str, content_type: str | None, now: datetime) -> ParsedFeed | str:
    """Parse well-formed RSS/Atom; returns a reason string when the fallback should take over."""
    encoding = _charset_override(body, content_type)
    try:
        parser = _parser(encoding)
    except (LookupError, ValueError):
        parser = _parser(None)
    root = etree.fromstring(body, parser)
    if root is None:
        return "no root element"
    docinfo = root.getroottree().docinfo
    doctype = docinfo.doctype
    if doctype:
        dtd = docinfo.internalDTD
        if dtd is not None and next(dtd.iterentities(), None) is not None:
            return "document declares entities"
        if next(root.iter(etree.Entity), None) is not None:
            return "document uses undeclared entities"
    tag = root.tag
    base = _base(root, url or None)
    if tag in (
        "rss",
        "{http://backend.userland.com/rss2}rss",
        "{http://backend.userland.com/rss}rss",
    ):
        v = (root.get("version") or "").strip()
        if v == "0.91":
            version = "rss091n" if "netscape" in doctype.lower() else "rss091u"
        else:
            versions = {"0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
            version = versions.get(v) or ("rss20" if v.startswith("2.") else "rss")
        return _rss(root, version, base, now)
    if tag == f"{{{RDF}}}RDF":
        version = "rss090" if any(c.tag.startswith(f"{{{RSS090}}}") for c in root) else "rss10"
        return _rss(root, version, base, now)
    if tag in (f"{{{ATOM10}}}feed", f"{{{ATOM03}}}feed", f"{{{ATOM10}}}entry"):
        return _atom(root, base, now)
    return f"unknown root element {tag!r}"


def _rss(root: Any, version: str, base: str | None, now: datetime) -> ParsedFeed:
    channel, items, f = None, [], {}
    for child in root:
        name = _local(child.tag)
        if name == "channel" and channel is None:
            channel = child
        elif name == "item":
            items.append(child)
    if channel is not None:
        base = _base(channel, base)
        for child in channel:
            key = _RSS_ITEM.get(child.tag)
            if key is not None and key not in f:
                f[key] = child
            elif _local(child.tag) == "item":
                items.append(child)
    title = _text(f.get("title", f.get("dc:title")))
    if title and _HTMLISH.search(title):
        title = _html_to_plain(title)
    el = f.get("link")
    link = _resolve(_base(el, base), _text(el)) if el is not None else None
    entries, warnings = [], []
    for i, item in enumerate(items):
        try:
            entries.append(_rss_item(item, base, now))
        except Exception as exc:  # one bad entry never loses the rest
            warnings.append(f"item {i} skipped: {type(exc).__name__}: {exc}"[:300])
    return ParsedFeed(version, title, link, tuple(entries), tuple(warnings))


def _rss_item(item: Any, base: str | None, now: datetime) -> ParsedEntry:
    base = _base(item, base)
    f: dict[str, Any] = {}
    for child in item:
        key = _RSS_ITEM.get(child.tag)
        if key is None or key in f:
            continue
        if key == "atom:link" and (child.get("rel") or "alternate") not in _ALTERNATE:
            continue
        f[key] = child
    title, title_is_html = None, False
    el = f.get("title", f.get("dc:title", f.get("media:title")))
    if el is not None:
        if len(el):
            title, title_is_html = _inner_html(el).strip() or None, True
        elif el.text:
            title = el.text.strip() or None
            title_is_html = title is not None and _HTMLISH.search(title) is not None
        if title_is_html and title:
            title = _resolve_html(title, _base(el, base))
    el = f.get("link")
    link = _resolve(_base(el, base), _text(el)) if el is not None else None
    el = f.get("guid")
    guid = _text(el)
    if guid and (el.get("isPermaLink") or "true").strip().lower() != "false":
        guid = _resolve(_base(el, base), guid)
        if not link and guid and guid.startswith(("http://", "https://")):
            link = guid
    if guid is None and (about := item.get(RDF_ABOUT)):
        guid = about.strip() or None  # RSS 1.0: the item's URI is its identity
    if not link and (el := f.get("atom:link")) is not None:
        link = _resolve(_base(el, base), (el.get("href") or "").strip())
    summary = _rss_html(f, base, "description", "dc:description", "itunes:summary")
    content = _rss_html(f, base, "content:encoded", "xhtml:body", "body", "fullitem")
    return ParsedEntry(
        guid=guid,
        title=title,
        title_is_html=title_is_html,
        link=link,
        summary=None if summary == content else summary,
        content=content,
        author=_first_text(f, "dc:creator", "author", "dc:author", "itunes:author"),
        published=_first_date(f, now, "pubDate", "dcterms:issued", "atom:published"),
        updated=_first_date(f, now, "dc:date", "dcterms:modified", "atom:updated"),
    )


def _rss_html(f: dict[str, Any], base: str | None, *keys: str) -> str | None:
    """The first non-empty HTML among ``keys`` (escaped or inline markup), URLs resolved."""
    for key in keys:
        el = f.get(key)
        if el is None:
            continue
        html = _inner_html(el) if len(el) else el.text
        if html and (html := html.strip()):
            return _resolve_html(html, _base(el, base))
    return None


def _first_text(f: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        if (text := _text(f.get(key))) is not None:
            return text
    return None


def _first_date(f: dict[str, Any], now: datetime, *keys: str) -> datetime | None:
    for key in keys:
        el = f.get(key)
        if el is not None and (dt := _date(el.text, now)) is not None:
            return dt
    return None


def _atom(root: Any, base: str | None, now: datetime) -> ParsedFeed:
    is03 = root.tag.startswith(f"{{{ATOM03}}}")
    ns = ATOM03 if is03 else ATOM10
    table = _ATOM_ENTRY[ns]
    version = "atom03" if is03 else "atom10"
    if root.tag == f"{{{ATOM10}}}entry":  # an Atom entry document
        return ParsedFeed(version, None, None, (_atom_entry(root, table, base, now, None, False),))
    entry_tag, title, links, author, items = f"{{{ns}}}entry", None, [], None, []
    for child in root:
        key = table.get(child.tag)
        if child.tag == entry_tag:
            items.append(child)
        elif key == "title" and title is None:
            value, is_html = _atom_text(child, is03)
            title = _html_to_plain(value) if is_html else _strip(value)
        elif key == "link":
            links.append(child)
        elif key == "author" and author is None:
            author = _text(child.find(f"{{{ns}}}name"))
    entries, warnings = [], []
    for i, el in enumerate(items):
        try:
            entries.append(_atom_entry(el, table, base, now, author, is03))
        except Exception as exc:  # one bad entry never loses the rest
            warnings.append(f"entry {i} skipped: {type(exc).__name__}: {exc}"[:300])
    return ParsedFeed(version, title, _pick_link(links, base), tuple(entries), tuple(warnings))


def _atom_entry(
    entry: Any,
    table: dict[str, str],
    base: str | None,
    now: datetime,
    feed_author: str | None,
    is03: bool,
) -> ParsedEntry:
    base = _base(entry, base)
    f: dict[str, Any] = {}
    links = []
    for child in entry:
        key = table.get(child.tag)
        if key == "link":
            links.append(child)
        elif key is not None and key not in f:
            f[key] = child
    title, title_is_html = _atom_text(f.get("title"), is03)
    title = _strip(title)
    if title and title_is_html:
        title = _resolve_html(title, _base(f["title"], base))
    guid = _text(f.get("id"))
    if guid is not None:
        guid = _resolve(_base(f["id"], base), guid)
    summary = _atom_html(f.get("summary"), base, is03)
    content = _atom_html(f.get("content"), base, is03)
    ns = ATOM03 if is03 else ATOM10
    el = f.get("author")  # RFC 4287 §4.2.1: the entry's author, else its source's, else feed's
    if el is None and (source := f.get("source")) is not None:
        el = source.find(f"{{{ns}}}author")
    author = _text(el.find(f"{{{ns}}}name")) if el is not None else None
    return ParsedEntry(
        guid=guid,
        title=title,
        title_is_html=title_is_html and title is not None,
        link=_pick_link(links, base),
        summary=None if summary == content else summary,
        content=content,
        author=author or feed_author,
        published=_first_date(f, now, "published", "issued", "created"),
        updated=_first_date(f, now, "updated", "modified"),
    )


def _atom_text(el: Any, is03: bool) -> tuple[str | None, bool]:
    """Value and is-HTML flag of an Atom text construct (or content element)."""
    if el is None:
        return None, False
    kind = (el.get("type") or "").strip().lower()
    if is03:
        mode = (el.get("mode") or "xml").strip().lower()
        if mode == "base64":
            try:
                raw = base64.b64decode((el.text or "").encode("ascii", "ignore"))
            except (binascii.Error, ValueError):
                return None, False
            return raw.decode("utf-8", "replace"), kind in _HTML_TYPES
        if len(el) and mode != "escaped":
            return _inner_html(el), True
        return el.text, kind in _HTML_TYPES
    if kind in ("xhtml", "application/xhtml+xml"):
        children = [c for c in el if isinstance(c.tag, str)]
        div = children[0] if len(children) == 1 and _local(children[0].tag) == "div" else None
        return _inner_html(div if div is not None else el), True
    if len(el):
        return _inner_html(el), True  # naked markup, or an XML media type
    if kind in ("", "text", "text/plain"):
        return el.text, False
    if kind in ("html", "text/html"):
        return el.text, True
    if kind.startswith("text/"):
        return el.text, False
    return None, False  # base64-encoded media: nothing to show


def _atom_html(el: Any, base: str | None, is03: bool) -> str | None:
    value, is_html = _atom_text(el, is03)
    if not value or not (value := value.strip()):
        return None
    return _resolve_html(value, _base(el, base)) if is_html else escape(value, quote=False)


def _pick_link(links: list[Any], base: str | None) -> str | None:
    best, best_score = None, -1
    for el in links:
        if (el.get("rel") or "alternate").strip().lower() not in _ALTERNATE:
            continue
        href = (el.get("href") or "").strip()
        if not href:
            continue
        kind = (el.get("type") or "").strip().lower()
        score = 2 if kind in ("text/html", "application/xhtml+xml") else 1 if not kind else 0
        if score > best_score:
            best, best_score = _resolve(_base(el, base), href), score
    return best


# --------------------------------------------------------------------------- encodings


def _http_charset(content_type: str | None) -> str | None:
    m = _CHARSET.search(content_type or "")
    if m is None:
        return None
    try:
        codecs.lookup(m.group(1))
    except LookupError:
        return None
    return m.group(1)


def _sniff_wide(body: bytes) -> str | None:
    for prefix, codec in _WIDE:
        if body.startswith(prefix):
            return codec
    return None


def _same_codec(a: str, b: str) -> bool:
    try:
        return a.lower() == b.lower() or codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return False


def _declared(body: bytes) -> str:
    """The declared encoding (UTF-8 if none). A UTF-16/32 declaration on bytes that are not
    UTF-16/32 (no BOM, no wide ``<?``) contradicts itself and is read as UTF-8 instead."""
    m = _XML_DECL_ENC.match(body)
    name = m.group(1).decode("ascii") if m else "utf-8"
    try:
        wide = codecs.lookup(name).name.startswith(("utf-16", "utf-32"))
    except LookupError:
        return name
    return "utf-8" if wide else name


def _candidates(body: bytes, content_type: str | None) -> list[str]:
    """Encodings to try, best first: BOM; valid UTF-8 as declared; HTTP charset; declaration."""
    wide = _sniff_wide(body)
    if wide:
        return [wide]
    declared = _declared(body)
    http = _http_charset(content_type)
    order = [declared, http] if _same_codec(declared, "utf-8") else [http, declared]
    return [c for c in (*order, "utf-8", "windows-1252") if c]


def _charset_override(body: bytes, content_type: str | None) -> str | None:
    """The encoding lxml must use instead of the document's own, or None to let it decide."""
    if _sniff_wide(body):
        return None
    m = _XML_DECL_ENC.match(body)
    own = m.group(1).decode("ascii") if m else "utf-8"  # what libxml2 would use by itself
    http = _http_charset(content_type)
    if _same_codec(own, _declared(body)) and (not http or _same_codec(http, own)):
        return None
    for codec in _candidates(body, content_type):
        try:
            body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        return None if _same_codec(codec, own) else codec
    return None


def _decode(body: bytes, content_type: str | None) -> str:
    for codec in _candidates(body, content_type):
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", "replace")


# --------------------------------------------------------------------------- fallback (feedparser)

_ENTITY_DECL = re.compile(r"""<!ENTITY\s+([A-Za-z_][\w.\-]*)\s+(?:"([^"]*)"|'([^']*)')\s*>""")
_SAFE_ENTITY_VALUE = re.compile(r"&#[0-9]{1,7};|&#x[0-9A-Fa-f]{1,6};|[^&%<\"']{0,32}")
_DOCTYPE_TOKEN = re.compile(r"""["'\[>]""")
_SUBSET_TOKEN = re.compile(r"""<!--|<\?|["'\]]""")
_FEEDPARSER_HEAD_END = re.compile(r"<\w")  # where feedparser's replace_doctype stops looking


def _skip(text: str, token: str, i: int) -> int:
    """Index just past the end of the quoted string, comment or PI that starts at ``i``."""
    end = {"<!--": "-->", "<?": "?>"}.get(token, token)
    j = text.find(end, i + len(token))
    return len(text) if j < 0 else j + len(end)


def neutralise_dtd(text: str) -> str:
    """Keep only short, reference-free entity declarations in the prolog.

    feedparser honours ``<!ENTITY name "value">`` lines anywhere before the first ``<`` + word
    character if there is exactly one DOCTYPE, and its loose parser expands them without limit.
    Here the first DOCTYPE's internal subset is rebuilt from the declarations whose value is a
    character reference or ≤ 32 plain characters, and every other ``<!ENTITY`` in that prolog
    is defused. Amplification is then bounded (≤ 32 characters per ``&x;``): no billion laughs,
    no quadratic blow-up, no external or parameter entity.
    """
    m = _FEEDPARSER_HEAD_END.search(text)
    cut = m.start() if m else len(text)
    head, rest = text[:cut], text[cut:]
    if "<!ENTITY" not in head:
        return text
    start = head.find("<!DOCTYPE")
    span = _internal_subset(head, start) if start >= 0 else None
    if span is None:
        return _defuse(head) + rest
    subset, close, end = span
    keep = []
    for d in _ENTITY_DECL.finditer(head, subset, close):
        value = d.group(2) if d.group(2) is not None else d.group(3)
        if _SAFE_ENTITY_VALUE.fullmatch(value) and len(keep) < 64:
            keep.append(f'<!ENTITY {d.group(1)} "{value}">')
    doctype = _defuse(head[start : subset - 1].rstrip())
    subset_text = " [\n" + "\n".join(keep) + "\n]" if keep else ""  # one a line, for feedparser
    return _defuse(head[:start]) + doctype + subset_text + ">" + _defuse(head[end + 1 :]) + rest


def _defuse(text: str) -> str:
    # The replacement holds a ">", so no new "<!ENTITY" can form across its edges.
    return text.replace("<!ENTITY", "<!-- -->")


def _internal_subset(head: str, start: int) -> tuple[int, int, int] | None:
    """(subset start, index of its "]", index of the DOCTYPE's ">"), or None."""
    i = start + 9
    while (m := _DOCTYPE_TOKEN.search(head, i)) is not None:
        if m.group() in "\"'":
            i = _skip(head, m.group(), m.start())
        elif m.group() == ">":
            return None  # external subset only: never loaded
        else:
            break
    if m is None:
        return None
    subset = i = m.end()
    while (m := _SUBSET_TOKEN.search(head, i)) is not None and m.group() != "]":
        i = _skip(head, m.group(), m.start())
    end = head.find(">", m.end()) if m is not None else -1
    return None if m is None or end < 0 else (subset, m.start(), end)


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048]
    if head.lstrip()[:15].lower().startswith(b"<!doctype html"):
        return True
    m = _FIRST_TAG.search(_MARKUP_DECL.sub(b"", head))
    return m is not None and m.group(1).lower() in (b"html", b"head", b"body")


def _fallback(
    body: bytes, *, url: str, content_type: str | None, now: datetime, reason: str
) -> ParsedFeed:
    if _looks_like_html(body):
        raise ParseError("an HTML page, not a feed", resource_id=url)
    text = neutralise_dtd(_decode(body, content_type))
    text = _TEXT_DECL_ENC.sub(r'\1"utf-8"', text, count=1)
    data = text.encode("utf-8", "replace")
    headers = {"content-type": "application/xml; charset=utf-8", "content-location": url}
    try:
        result = feedparser.parse(
            io.BytesIO(data), response_headers=headers, sanitize_html=False
        )  # a stream, never bytes/str: a bare string may be opened as a path or fetched as a URL
        version = result.get("version") or ""
        raw_entries = result.get("entries") or []
        feed = result.get("feed") or {}
    except Exception as exc:  # feedparser bugs on hostile input must not escape
        raise ParseError(f"unreadable document: {type(exc).__name__}", resource_id=url) from exc
    if not version and not raw_entries:
        raise ParseError(f"not a feed: {reason}", resource_id=url)
    entries, warnings = [], [f"fallback parser used: {reason}"[:300]]
    for i, e in enumerate(raw_entries):
        try:
            entries.append(_from_feedparser_entry(e, now))
        except Exception as exc:  # one bad entry never loses the rest
            warnings.append(f"entry {i} skipped: {type(exc).__name__}: {exc}"[:300])
    title = feed.get("title") or None
    if title and (feed.get("title_detail") or {}).get("type") in _HTML_TYPES:
        title = _html_to_plain(title)
    link = feed.get("link") or None
    return ParsedFeed(version or "unknown", title, link, tuple(entries), tuple(warnings))


def _fp_html(value: Any, detail: Any) -> str | None:
    if not isinstance(value, str) or not (value := value.strip()):
        return None
    kind = (detail or {}).get("type") or "text/html"
    return value if kind in _HTML_TYPES or "xml" in kind else escape(value, quote=False)


def _from_feedparser_entry(e: Any, now: datetime) -> ParsedEntry:
    title = e.get("title")
    title = title.strip() or None if isinstance(title, str) else None
    title_is_html = (e.get("title_detail") or {}).get("type") in _HTML_TYPES and title is not None
    content = None
    for c in e.get("content") or ():
        if content := _fp_html(c.get("value"), c):
            break
    summary = _fp_html(dict.get(e, "summary"), e.get("summary_detail"))
    if summary == content:
        summary = None
    link = e.get("link") or None
    if link and e.get("guidislink") and not link.startswith(("http://", "https://")):
        link = None
    published = dict.get(e, "published_parsed") or dict.get(e, "created_parsed")
    return ParsedEntry(
        guid=e.get("id") or None,
        title=title,
        title_is_html=title_is_html,
        link=link,
        summary=summary,
        content=content,
        author=e.get("author") or None,
        published=_from_struct(published, now),
        updated=_from_struct(dict.get(e, "updated_parsed"), now),
    )
