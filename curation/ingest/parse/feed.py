"""Feed documents (bytes) → :class:`ParsedFeed`; the one place that knows formats.

The public entry: :func:`parse_feed` detects the format and dispatches, and this module owns date
parsing and clamping (:func:`parse_date`), passing its date parser to each format's parser:

- :mod:`curation.ingest.parse.fast`: a fast path with ``lxml.etree`` for well-formed RSS
  0.90/0.9x/1.0/2.0 and Atom 0.3/1.0, with URL resolution (entry links and ids, and quoted
  ``href``/``src``/``poster`` values in HTML fields) against ``xml:base`` and the feed URL;
- :mod:`curation.ingest.parse.fallback`: feedparser 6 for everything else (ill-formed XML, HTML
  entities such as ``&nbsp;`` from an RSS 0.91 DTD, unknown roots, bytes invalid in the declared
  encoding), behind :func:`neutralise_dtd` (re-exported here);
- :mod:`curation.ingest.parse.jsonfeed`: JSON Feed 1.0/1.1;
- :mod:`.common`: character decoding and the URL/text helpers both XML paths share.

It does not sanitise HTML, strip control characters or derive fallback GUIDs: the cleaner does.
Version names follow feedparser's (``rss091u``/``rss091n``, ``rss20``, ``atom10``, …) so that
both paths agree; JSON Feed gives ``json10``/``json11``. Each module's docstring describes its
safety measures: no entity is expanded without bound, and no DTD, file or URL is read.

The date parsers are handed over as closures that look :func:`_date` and :func:`_from_struct` up
here at call time, so the format modules never import this one (no cycle).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from feedparser.datetimes import _parse_date as _feedparser_date
from lxml import etree

from curation.errors import ParseError
from curation.ingest.parse.fallback import feedparser_fallback, neutralise_dtd
from curation.ingest.parse.fast import fast_path
from curation.ingest.parse.jsonfeed import parse_json_feed
from curation.ingest.records import ParsedFeed

__all__ = ["neutralise_dtd", "parse_date", "parse_feed"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
        feed = fast_path(body, url, content_type, lambda s: _date(s, now))
    except etree.XMLSyntaxError as exc:
        reason = f"not well-formed XML ({exc})"
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
        from_struct=lambda st: _from_struct(st, now),
    )


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
    # RSS's most common form, ``Sun, 01 Nov 2026 10:00:00 GMT``, read by position
    if len(s) == 29 and s[25:] == " GMT" and s[3:5] == ", " and s[19] == s[22] == ":":
        digits = s[5:7] + s[12:16] + s[17:19] + s[20:22] + s[23:25]
        month = _MONTHS.get(s[8:11].lower())
        if (
            month is not None
            and s[7] == s[11] == s[16] == " "
            and digits.isascii()
            and digits.isdigit()
            and digits[2:6] >= "1970"
        ):
            try:
                return datetime(int(digits[2:6]), month, int(digits[:2]), int(digits[6:8]),
                                int(digits[8:10]), int(digits[10:12]), tzinfo=UTC)  # fmt: skip
            except ValueError:
                return None  # e.g. 31 Feb, as the general reading decides
    return _rfc822_general(s)


def _rfc822_general(s: str) -> datetime | None:
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
