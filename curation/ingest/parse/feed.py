"""Feed documents (bytes) → :class:`ParsedFeed`; the one place that knows formats.

:func:`parse_feed` detects the format and dispatches, handing each format's parser the date
rules of :mod:`.dates` with the cycle's ``now`` bound:

- :mod:`curation.ingest.parse.fast`: a fast path with ``lxml.etree`` for well-formed RSS
  0.90/0.9x/1.0/2.0 and Atom 0.3/1.0, with URL resolution (entry links and ids, and quoted
  ``href``/``src``/``poster`` values in HTML fields) against ``xml:base`` and the feed URL;
- :mod:`curation.ingest.parse.fallback`: feedparser 6 for everything else (ill-formed XML, HTML
  entities such as ``&nbsp;`` from an RSS 0.91 DTD, unknown roots, bytes invalid in the declared
  encoding), behind its DTD guard;
  a document ill-formed only by C0 control characters (which XML 1.0 forbids, and which real
  text often holds) is read by the fast path without them instead, as the cleaner would drop
  them anyway;
- :mod:`curation.ingest.parse.jsonfeed`: JSON Feed 1.0/1.1.

It does not sanitise HTML, strip control characters (but for that second try) or derive
fallback GUIDs: the cleaner does.
Version names follow feedparser's (``rss091u``/``rss091n``, ``rss20``, ``atom10``, …) so that
both paths agree; JSON Feed gives ``json10``/``json11``. Each module's docstring describes its
safety measures: no entity is expanded without bound, and no DTD, file or URL is read.

The date rules are handed over as closures that look :func:`read_date` and
:func:`clamped_struct` up in this module at call time; the format modules import neither this
module nor :mod:`.dates`. A date closure returns the value and, when the value is not the
feed's own (clamped or refused), the raw text, which the parsers keep on the entry.

A document cut short (a dropped connection, a server that stops writing) is refused with a
:class:`ParseError` saying so, rather than read as far as it goes: feedparser would store its
partial last entry and report the feed healthy. "Cut short" means: not well-formed, and an
``<item>``/``<entry>`` start tag follows the last end tag of one (see :func:`cut_short`). A
document that only lacks its closing root tags after complete entries is read as before.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from curation.errors import ParseError
from curation.ingest.clean.limits import MAX_RAW_DATE_CHARS
from curation.ingest.parse.common import without_xml_controls
from curation.ingest.parse.dates import clamped_struct, read_date, utc_now
from curation.ingest.parse.fallback import feedparser_fallback
from curation.ingest.parse.fast import DateParser, fast_path
from curation.ingest.parse.jsonfeed import parse_json_feed
from curation.ingest.records import ParsedFeed

__all__ = ["cut_short", "parse_feed"]

_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(?:item|entry)(?=[\s/>])[^<>]*>")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?(?:item|entry)\s*>")


def cut_short(body: bytes) -> str | None:
    """Why a document that is not well-formed looks cut short, or None when it does not.

    Only ASCII-compatible encodings are judged (the tags are looked for as bytes).
    """
    last_end = -1
    for m in _ENTRY_END.finditer(body):
        last_end = m.start()
    for m in _ENTRY_START.finditer(body, last_end + 1):
        if not m.group().endswith(b"/>"):
            return "it ends inside its last entry"
    return None


def _date_reader(now: datetime):  # noqa: ANN202 - a closure the format parsers call
    def date(value: str | None) -> tuple[datetime | None, str | None]:
        dt, own = read_date(value, now)
        return dt, None if own or value is None else value.strip()[:MAX_RAW_DATE_CHARS]

    return date


def _without_controls(
    body: bytes, url: str, content_type: str | None, date: DateParser
) -> ParsedFeed | None:
    """The fast path's reading of a document that is well-formed but for C0 control characters
    (:func:`.common.without_xml_controls`), or None: the document goes on as it came."""
    scrubbed = without_xml_controls(body, content_type)
    if scrubbed is None:
        return None
    try:
        feed = fast_path(scrubbed, url, content_type, date)
    except Exception:  # still not well-formed (or a surprise): the usual way, from the original
        return None
    return feed if isinstance(feed, ParsedFeed) else None


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse one feed document. Raises :class:`ParseError` when it is not a feed at all."""
    now = utc_now(now)
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ParseError("feed body must be bytes", resource_id=url)
    body = bytes(body)
    head = body[:4].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not head:
        raise ParseError("empty document", resource_id=url)
    ctype = (content_type or "").lower()
    date = _date_reader(now)
    if head == b"{" or (head != b"<" and "json" in ctype):
        return parse_json_feed(body, url=url, date=date)
    if body[:1] in b" \t\r\n":
        body = body.lstrip(b" \t\r\n")  # "XML declaration allowed only at the start"
    try:
        feed = fast_path(body, url, content_type, date)
    except etree.XMLSyntaxError as exc:
        if (feed := _without_controls(body, url, content_type, date)) is not None:
            return feed
        reason = f"not well-formed XML ({exc})"
        if (why := cut_short(body)) is not None:
            raise ParseError(
                f"the document is truncated: {why} ({exc}); nothing of it was stored",
                resource_id=url,
            ) from None
    except Exception as exc:  # an lxml or fast-path surprise: feedparser gets its chance
        reason = f"fast path failed ({type(exc).__name__}: {exc})"
    else:
        if isinstance(feed, ParsedFeed):
            return feed
        reason = feed
    return feedparser_fallback(
        body,
        url=url,
        content_type=content_type,
        reason=reason,
        from_struct=lambda st: clamped_struct(st, now),
        date=date,
    )
