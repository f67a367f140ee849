"""The feedparser 6 fallback for every XML feed the lxml fast path declines, and its DTD guard.

It takes ill-formed XML, HTML entities such as ``&nbsp;`` from an RSS 0.91 DTD, unknown roots
and bytes invalid in the declared encoding, refuses HTML pages, and maps feedparser's entries to
:class:`~curation.ingest.records.ParsedEntry`. Called by :func:`.feed.parse_feed`, which
passes its struct-time → datetime converter in.

Safety. feedparser's own DTD filter keeps internal entities of any length and its loose parser
expands them without limit (pyexpat 2.5's amplification limit only stops the strict parser), so
the body is decoded here (:func:`.common.decode_body`) and its prolog rebuilt by
:func:`neutralise_dtd` first. feedparser always gets a stream, never bytes or a string, which it
would try to open as a path or fetch as a URL.
"""

from __future__ import annotations

import io
import re
import xml.sax
from collections.abc import Callable
from datetime import datetime
from html import escape, unescape
from typing import Any

import feedparser

from curation.errors import ParseError
from curation.ingest.parse.common import HTML_TYPES, decode_body, html_to_plain
from curation.ingest.records import ParsedEntry, ParsedFeed

__all__ = ["FALLBACK_NOTE", "DateParser", "StructDate", "feedparser_fallback", "neutralise_dtd"]

StructDate = Callable[[Any], datetime | None]
#: a date's text → (datetime or None, the raw text when clamped or refused), as in :mod:`.fast`
DateParser = Callable[[str | None], tuple[datetime | None, str | None]]
#: the start of the warning every document read by feedparser carries
FALLBACK_NOTE = "fallback parser used:"

_TEXT_DECL_ENC = re.compile(r"""^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*)(["'])[^"']*\2""")
_FIRST_TAG = re.compile(rb"<([A-Za-z][\w:.\-]*)")
_MARKUP_DECL = re.compile(rb"<!--.*?-->|<[!?][^>]*>", re.DOTALL)
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


def feedparser_fallback(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    reason: str,
    from_struct: StructDate,
    date: DateParser,
) -> ParsedFeed:
    """Parse ``body`` with feedparser. ``reason`` (why the fast path declined) becomes the first
    warning; ``date`` reads a date's text by our rules (:mod:`.dates`), and ``from_struct``
    turns a feedparser time tuple into a clamped UTC datetime when feedparser kept no text.
    Raises :class:`ParseError` for an HTML page or a document that is not a feed at all.

    Plain-text fields agree with the fast path: RSS titles are text decoded once (feedparser
    calls ``&lt;b&gt;`` HTML; we keep it as the text ``<b>``), and when feedparser's loose
    parser had to take over, the author and id it leaves entity-escaped are decoded once."""
    if _looks_like_html(body):
        raise ParseError("an HTML page, not a feed", resource_id=url)
    decoded, encoding_warning = decode_body(body, content_type)
    text = neutralise_dtd(decoded)
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
    entries, warnings = [], [f"{FALLBACK_NOTE} {reason}"[:300]]
    if encoding_warning:
        warnings.append(encoding_warning)
    plain_titles = not version.startswith("atom")  # RSS and unknown: text, decoded once
    loose = isinstance(result.get("bozo_exception"), xml.sax.SAXException)
    for i, e in enumerate(raw_entries):
        try:
            entries.append(_from_feedparser_entry(e, from_struct, date, plain_titles, loose))
        except Exception as exc:  # one bad entry never loses the rest
            warnings.append(f"entry {i} skipped: {type(exc).__name__}: {exc}"[:300])
    title = feed.get("title") or None
    if title and not plain_titles and (feed.get("title_detail") or {}).get("type") in HTML_TYPES:
        title = html_to_plain(title)
    link = feed.get("link") or None
    return ParsedFeed(version or "unknown", title, link, tuple(entries), tuple(warnings))


def _fp_html(value: Any, detail: Any) -> str | None:
    if not isinstance(value, str) or not (value := value.strip()):
        return None
    kind = (detail or {}).get("type") or "text/html"
    return value if kind in HTML_TYPES or "xml" in kind else escape(value, quote=False)


def _date(
    e: Any, key: str, struct_key: str, date: DateParser, from_struct: StructDate
) -> tuple[datetime | None, str | None]:
    raw = dict.get(e, key)
    if isinstance(raw, str) and raw.strip():
        return date(raw)
    return from_struct(dict.get(e, struct_key)), None


def _plain(value: Any, loose: bool) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return unescape(value) if loose and "&" in value else value


def _from_feedparser_entry(
    e: Any, from_struct: StructDate, date: DateParser, plain_titles: bool, loose: bool
) -> ParsedEntry:
    title = e.get("title")
    title = title.strip() or None if isinstance(title, str) else None
    title_is_html = (
        not plain_titles
        and (e.get("title_detail") or {}).get("type") in HTML_TYPES
        and title is not None
    )
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
    published, published_raw = _date(e, "published", "published_parsed", date, from_struct)
    if published is None and published_raw is None:
        published, published_raw = _date(e, "created", "created_parsed", date, from_struct)
    updated, updated_raw = _date(e, "updated", "updated_parsed", date, from_struct)
    return ParsedEntry(
        guid=_plain(e.get("id"), loose),
        title=title,
        title_is_html=title_is_html,
        link=link,
        summary=summary,
        content=content,
        author=_plain(e.get("author"), loose),
        published=published,
        updated=updated,
        published_raw=published_raw,
        updated_raw=updated_raw,
    )
