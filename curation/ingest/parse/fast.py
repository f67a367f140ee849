"""The lxml fast path: well-formed RSS 0.90/0.9x/1.0/2.0 and Atom 0.3/1.0 → ParsedFeed.

Called by :func:`curation.ingest.parse.feed.parse_feed`, which passes its date parser in (as for
:mod:`.jsonfeed`). :func:`fast_path` returns a reason string instead of a feed when
the document should go to the feedparser fallback (:mod:`curation.ingest.parse.fallback`): entities
declared or used, or an unknown root element; ill-formed XML raises ``XMLSyntaxError``.

Text. RSS titles (item and channel) are plain text, decoded once by XML: ``&lt;b&gt;`` is the
text "<b>", never markup; only elements inside a title make it HTML. Namespace URIs are matched
case-insensitively (``…/DTDs/Podcast-1.0.dtd``), and Atom elements inside RSS items
(``atom:link rel="alternate"``, ``atom:author``, ``atom:content``, ``atom:summary``, dates) are
read when the RSS element is absent, as feedparser reads them.

Safety. lxml runs with ``resolve_entities=False, no_network=True, load_dtd=False,
huge_tree=False`` and a resolver that refuses every external DTD or entity, so nothing is
expanded or read; documents that declare or use entities take the fallback.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

from lxml import etree

from curation.ingest.parse.common import (
    HTML_TYPES,
    charset_override,
    html_to_plain,
    resolve,
    resolve_html,
)
from curation.ingest.records import ParsedEntry, ParsedFeed

__all__ = ["DateParser", "fast_path"]

#: a date's text → (aware UTC datetime or None, the raw text when the value is not the feed's
#: own: clamped or refused; see :mod:`.dates`)
DateParser = Callable[[str | None], tuple[datetime | None, str | None]]

ATOM10 = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
XHTML = "http://www.w3.org/1999/xhtml"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
RDF_ABOUT = f"{{{RDF}}}about"
_RSS_NAMESPACES = (
    "",
    RSS10,
    RSS090,
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
)

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
        (ATOM10, "atom", "link published updated author content summary"),
        (ITUNES, "itunes", "author summary"),
        ("http://search.yahoo.com/mrss/", "media", "title"),
    )
    for name in names.split()
)
# Namespace URIs compare case-insensitively, as feedparser compares them (podcasts write the
# iTunes one as ``…/DTDs/Podcast-1.0.dtd`` and in other spellings): the folded table is looked
# up only when the exact tag is not known.
_RSS_ITEM_FOLDED = {
    "{" + tag[1:].partition("}")[0].lower() + "}" + tag.partition("}")[2]: key
    for tag, key in _RSS_ITEM.items()
    if tag[0] == "{"
}


def _rss_key(tag: Any) -> str | None:
    key = _RSS_ITEM.get(tag)
    if key is None and isinstance(tag, str) and tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        key = _RSS_ITEM_FOLDED.get("{" + ns.lower() + "}" + local)
    return key


_ATOM_NAMES = (
    "title link id summary content author source published issued created updated modified"
)
_ATOM_ENTRY = {ns: {f"{{{ns}}}{n}": n for n in _ATOM_NAMES.split()} for ns in (ATOM10, ATOM03)}
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source"]
    + ["track", "wbr"]
)
_ALTERNATE = ("alternate", "http://www.iana.org/assignments/relation/alternate")

# --------------------------------------------------------------------------- element helpers


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
    return resolve(base, b.strip()) if b else base


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


def fast_path(
    body: bytes, url: str, content_type: str | None, date: DateParser
) -> ParsedFeed | str:
    """Parse well-formed RSS/Atom; returns a reason string when the fallback should take over.

    ``date`` turns a date string (or None) into a clamped UTC datetime, or None.
    """
    encoding = charset_override(body, content_type)
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
        return _rss(root, version, base, date)
    if tag == f"{{{RDF}}}RDF":
        version = "rss090" if any(c.tag.startswith(f"{{{RSS090}}}") for c in root) else "rss10"
        return _rss(root, version, base, date)
    if tag in (f"{{{ATOM10}}}feed", f"{{{ATOM03}}}feed", f"{{{ATOM10}}}entry"):
        return _atom(root, base, date)
    return f"unknown root element {tag!r}"


def _rss(root: Any, version: str, base: str | None, date: DateParser) -> ParsedFeed:
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
            key = _rss_key(child.tag)
            if key is not None and key not in f:
                f[key] = child
            elif _local(child.tag) == "item":
                items.append(child)
    el = f.get("title", f.get("dc:title"))
    # RSS text is plain text, decoded once (by XML): ``&lt;b&gt;`` is the text "<b>"
    title = html_to_plain(_inner_html(el)) if el is not None and len(el) else _text(el)
    el = f.get("link")
    link = resolve(_base(el, base), _text(el)) if el is not None else None
    entries, warnings = [], []
    for i, item in enumerate(items):
        try:
            entries.append(_rss_item(item, base, date))
        except Exception as exc:  # one bad entry never loses the rest
            warnings.append(f"item {i} skipped: {type(exc).__name__}: {exc}"[:300])
    return ParsedFeed(version, title, link, tuple(entries), tuple(warnings))


def _rss_item(item: Any, base: str | None, date: DateParser) -> ParsedEntry:
    base = _base(item, base)
    f: dict[str, Any] = {}
    for child in item:
        key = _rss_key(child.tag)
        if key is None or key in f:
            continue
        if key == "atom:link" and (child.get("rel") or "alternate").strip() not in _ALTERNATE:
            continue
        f[key] = child
    title, title_is_html = None, False
    el = f.get("title", f.get("dc:title", f.get("media:title")))
    if el is not None:
        if len(el):  # inline markup (elements inside the title): HTML
            title, title_is_html = _inner_html(el).strip() or None, True
            if title:
                title = resolve_html(title, _base(el, base))
        elif el.text:  # text: plain, decoded once (``&lt;script&gt;`` is the text "<script>")
            title = el.text.strip() or None
    el = f.get("link")
    link = resolve(_base(el, base), _text(el)) if el is not None else None
    el = f.get("guid")
    guid = _text(el)
    if guid and (el.get("isPermaLink") or "true").strip().lower() != "false":
        guid = resolve(_base(el, base), guid)
        if not link and guid and guid.startswith(("http://", "https://")):
            link = guid
    if guid is None and (about := item.get(RDF_ABOUT)):
        guid = about.strip() or None  # RSS 1.0: the item's URI is its identity
    if not link and (el := f.get("atom:link")) is not None:
        link = resolve(_base(el, base), (el.get("href") or "").strip())
    summary = _rss_html(f, base, "description", "dc:description", "itunes:summary")
    if summary is None and (el := f.get("atom:summary")) is not None:
        summary = _atom_html(el, base, False)
    content = _rss_html(f, base, "content:encoded", "xhtml:body", "body", "fullitem")
    if content is None and (el := f.get("atom:content")) is not None:
        content = _atom_html(el, base, False)
    author = _first_text(f, "dc:creator", "author", "dc:author", "itunes:author")
    if author is None and (el := f.get("atom:author")) is not None:
        author = _text(el.find(f"{{{ATOM10}}}name"))
    published, published_raw = _first_date(f, date, "pubDate", "dcterms:issued", "atom:published")
    updated, updated_raw = _first_date(f, date, "dc:date", "dcterms:modified", "atom:updated")
    return ParsedEntry(
        guid=guid,
        title=title,
        title_is_html=title_is_html,
        link=link,
        summary=None if summary == content else summary,
        content=content,
        author=author,
        published=published,
        updated=updated,
        published_raw=published_raw,
        updated_raw=updated_raw,
        base=base,
    )


def _rss_html(f: dict[str, Any], base: str | None, *keys: str) -> str | None:
    """The first non-empty HTML among ``keys`` (escaped or inline markup), see :func:`_html`."""
    for key in keys:
        el = f.get(key)
        if el is None:
            continue
        html = _inner_html(el) if len(el) else el.text
        if html and (html := html.strip()):
            return _html(html, el, base)
    return None


def _html(html: str, el: Any, base: str | None) -> str:
    """HTML of ``el`` within an entry whose base is ``base``: its relative URLs are left for the
    sanitiser, which resolves them against ``base`` (:attr:`ParsedEntry.base`) as it checks
    every URL; resolved here only when ``el`` has an ``xml:base`` of its own."""
    own = _base(el, base)
    return html if own is base else resolve_html(html, own)


def _first_text(f: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        el = f.get(key)
        if el is not None and (text := _text(el)) is not None:  # (most keys are absent)
            return text
    return None


def _first_date(
    f: dict[str, Any], date: DateParser, *keys: str
) -> tuple[datetime | None, str | None]:
    """The first readable date among ``keys``, with its raw text when clamped; else the raw
    text of the first one present (refused as nonsense)."""
    refused = None
    for key in keys:
        el = f.get(key)
        if el is not None and el.text and el.text.strip():
            dt, raw = date(el.text)
            if dt is not None:
                return dt, raw
            refused = refused or raw
    return None, refused


def _atom(root: Any, base: str | None, date: DateParser) -> ParsedFeed:
    is03 = root.tag.startswith(f"{{{ATOM03}}}")
    ns = ATOM03 if is03 else ATOM10
    table = _ATOM_ENTRY[ns]
    version = "atom03" if is03 else "atom10"
    if root.tag == f"{{{ATOM10}}}entry":  # an Atom entry document
        return ParsedFeed(version, None, None, (_atom_entry(root, table, base, date, None, False),))
    entry_tag, title, links, author, items = f"{{{ns}}}entry", None, [], None, []
    for child in root:
        key = table.get(child.tag)
        if child.tag == entry_tag:
            items.append(child)
        elif key == "title" and title is None:
            value, is_html = _atom_text(child, is03)
            title = html_to_plain(value) if is_html else _strip(value)
        elif key == "link":
            links.append(child)
        elif key == "author" and author is None:
            author = _text(child.find(f"{{{ns}}}name"))
    entries, warnings = [], []
    for i, el in enumerate(items):
        try:
            entries.append(_atom_entry(el, table, base, date, author, is03))
        except Exception as exc:  # one bad entry never loses the rest
            warnings.append(f"entry {i} skipped: {type(exc).__name__}: {exc}"[:300])
    return ParsedFeed(version, title, _pick_link(links, base), tuple(entries), tuple(warnings))


def _atom_entry(
    entry: Any,
    table: dict[str, str],
    base: str | None,
    date: DateParser,
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
        title = resolve_html(title, _base(f["title"], base))
    guid = _text(f.get("id"))
    if guid is not None:
        guid = resolve(_base(f["id"], base), guid)
    summary = _atom_html(f.get("summary"), base, is03)
    content = _atom_html(f.get("content"), base, is03)
    ns = ATOM03 if is03 else ATOM10
    el = f.get("author")  # RFC 4287 §4.2.1: the entry's author, else its source's, else feed's
    if el is None and (source := f.get("source")) is not None:
        el = source.find(f"{{{ns}}}author")
    author = _text(el.find(f"{{{ns}}}name")) if el is not None else None
    published, published_raw = _first_date(f, date, "published", "issued", "created")
    updated, updated_raw = _first_date(f, date, "updated", "modified")
    return ParsedEntry(
        guid=guid,
        title=title,
        title_is_html=title_is_html and title is not None,
        link=_pick_link(links, base),
        summary=None if summary == content else summary,
        content=content,
        author=author or feed_author,
        published=published,
        updated=updated,
        published_raw=published_raw,
        updated_raw=updated_raw,
        base=base,
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
            return raw.decode("utf-8", "replace"), kind in HTML_TYPES
        if len(el) and mode != "escaped":
            return _inner_html(el), True
        return el.text, kind in HTML_TYPES
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
    return _html(value, el, base) if is_html else escape(value, quote=False)


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
            best, best_score = resolve(_base(el, base), href), score
    return best
