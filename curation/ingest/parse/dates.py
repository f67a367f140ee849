"""Dates in feeds: any form a feed may use → an aware UTC datetime, or None when it is nonsense.

:func:`parse_date` reads RFC 822 (``Sun, 01 Nov 2026 10:00:00 GMT``, the RSS form, read by
position when it has exactly that shape), ISO 8601/RFC 3339 (Atom, JSON Feed; also with a space
for ``T`` or a zone name), ``asctime`` (``Sun Jan  4 16:29:06 PST 2004``), and anything else
feedparser's date helpers know.

The rules (issue 17):

- **Nonsense is missing**: a date that names an impossible month, day or time (``2026-13-01``,
  ``31 Feb``, ``25:00``), an offset beyond ±14:00 (the widest in use, UTC+14 in Kiribati), or a
  year before 1970 (year 0 and negative years included: no feed entry predates 1970; such
  values are placeholders) gives None, never 1970 and never a rolled-over date. Shapes we read
  ourselves are never handed to feedparser's helpers, which roll ``2026-02-30`` over to
  2 March and apply ``+25:00``.
- **Named zones** are read with their real offsets from :data:`ZONES` (the RFC 822 North
  American names and the common European, Australian and Asian abbreviations, each with one
  unambiguous meaning). A name not in the table (``IST`` is Indian, Irish and Israeli time; a
  military letter) is read as UTC, as RFC 2822 says of unknown zones.
- **Far-future dates are clamped** to ``now`` (the cycle's fetch time). A clamped or refused
  date is flagged by :func:`read_date`, so that the parsers keep the raw text beside it and the
  cleaner hashes that raw text instead of the clamped value: a re-poll of the same entry at a
  later ``now`` then compares equal, and the value stored the first time is kept (clamped once).

:func:`clamped_date` and :func:`clamped_struct` (a feedparser time struct → datetime) are the
same rule for a ``now`` already made aware UTC by :func:`utc_now`; :func:`.feed.parse_feed`
hands them to the format parsers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from feedparser.datetimes import _parse_date as _feedparser_date

__all__ = [
    "EPOCH",
    "MAX_OFFSET_MINUTES",
    "ZONES",
    "clamped_date",
    "clamped_struct",
    "parse_date",
    "read_date",
    "utc_now",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: the widest UTC offset in use (UTC+14:00, Line Islands; UTC-12:00 is the other end)
MAX_OFFSET_MINUTES = 14 * 60

#: Zone names → minutes east of UTC. RFC 822's own (UT, GMT, EST…PDT, Z) and the common
#: abbreviations that have a single meaning; ambiguous ones (IST, ADT/AST outside North America,
#: BST as Bangladesh) take their usual feed meaning or are left out (read as UTC).
ZONES: dict[str, int] = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0,
    "west": 60, "bst": 60, "cet": 60, "met": 60, "cest": 120, "mest": 120,
    "eet": 120, "eest": 180, "msk": 180,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360,
    "pst": -480, "pdt": -420, "akst": -540, "akdt": -480, "hst": -600,
    "ast": -240, "adt": -180, "nst": -210, "ndt": -150,
    "jst": 540, "kst": 540, "hkt": 480, "sgt": 480, "awst": 480,
    "acst": 570, "acdt": 630, "aest": 600, "aedt": 660, "nzst": 720, "nzdt": 780,
}  # fmt: skip

_INVALID = object()  # a shape we read ourselves, with impossible values: missing, no feedparser
_MONTHS = {"janfebmaraprmayjunjulaugsepoctnovdec"[i : i + 3]: i // 3 + 1 for i in range(0, 36, 3)}
_ZONE = r"([A-Za-z]{1,5}|[+\-]\d{2}:?\d{2})"
_RFC822_RE = re.compile(
    r"(?:[A-Za-z]{2,9}\.?,?\s*)?(\d{1,2})[\s\-]+([A-Za-z]{3,9})\.?[\s\-]+(\d{2,4})\s+"
    rf"(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?(?:\.\d{{1,9}})?\s*{_ZONE}?\s*"
)
_ISO_RE = re.compile(
    r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[Tt ]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d{1,9})?)?"
    rf"\s*(?:[Zz]|{_ZONE})?\s*"
)
_ISO_SHAPE = re.compile(
    r"[+\-]|\d+-[\d\-]"
)  # a signed year, a year-month, however odd: never to feedparser
_ASCTIME_RE = re.compile(
    r"(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+"
    r"(?:([A-Za-z]{1,5}|[+\-]\d{2}:?\d{2})\s+)?(\d{4})\s*"
)


def parse_date(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """Any date form feeds use → aware UTC datetime, or None when missing or nonsense.

    Dates later than ``now`` (default: the current time) are clamped to it.
    """
    return clamped_date(value, utc_now(now)) if value and isinstance(value, str) else None


def clamped_date(value: str | None, now: datetime) -> datetime | None:
    """:func:`parse_date` for a ``now`` that is already aware UTC (see :func:`utc_now`)."""
    return read_date(value, now)[0]


def read_date(value: str | None, now: datetime) -> tuple[datetime | None, bool]:
    """(the date, whether it is the feed's own): False when it was clamped to ``now`` or
    refused as nonsense, so the raw text must stand for it (see the module docstring)."""
    s = value.strip() if isinstance(value, str) else None
    if not s:
        return None, True
    dt = _read(s)
    if dt is _INVALID:
        return None, False
    if dt is None:
        try:
            st = _feedparser_date(s)
        except Exception:  # feedparser's helpers raise more than they catch on hostile input
            return None, False
        if st is None:
            return None, False
        return _settle(_from_struct(st), now)
    assert isinstance(dt, datetime)
    return _settle(dt, now)


def _settle(dt: datetime | None, now: datetime) -> tuple[datetime | None, bool]:
    if dt is None or dt < EPOCH:
        return None, False
    if dt > now:
        return now, False
    return dt, True


def _read(s: str) -> datetime | object | None:
    """Our own shapes: a UTC datetime, :data:`_INVALID`, or None (not one of our shapes)."""
    if s[0] in "+-" or s[:4].isdigit():
        if s[0] not in "+-" and s[-1] != "z":
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                pass
            else:
                return _aware(dt)
        m = _ISO_RE.fullmatch(s)
        if m is not None:
            y, mo, d, hh, mm, ss, zone = m.groups()
            return _build(int(y), int(mo), int(d or 1), hh, mm, ss, zone)
        return _INVALID if _ISO_SHAPE.match(s) else None
    dt = _rfc822(s)
    if dt is not None:
        return dt
    m = _ASCTIME_RE.fullmatch(s)
    if m is not None:
        mon, d, hh, mm, ss, zone, y = m.groups()
        month = _MONTHS.get(mon.lower())
        return _INVALID if month is None else _build(int(y), month, int(d), hh, mm, ss, zone)
    return None


def _aware(dt: datetime) -> datetime | object:
    """A datetime from ``fromisoformat`` → UTC; an offset beyond ±14:00 is nonsense."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    offset = dt.utcoffset()
    if offset is None or abs(offset) > timedelta(minutes=MAX_OFFSET_MINUTES):
        return _INVALID
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return datetime.max.replace(tzinfo=UTC) if dt.year > 1970 else _INVALID


def _offset(zone: str | None) -> int | None:
    """Minutes east of UTC; None when beyond ±14:00 or malformed. Unknown names are UTC."""
    if not zone or zone in "Zz":
        return 0
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if minutes >= 60:
            return None
        offset = hours * 60 + minutes
        if offset > MAX_OFFSET_MINUTES:
            return None
        return -offset if zone[0] == "-" else offset
    return ZONES.get(zone.lower(), 0)


def _build(
    year: int,
    month: int,
    day: int,
    hh: str | None,
    mm: str | None,
    ss: str | None,
    zone: str | None,
) -> datetime | object:
    """The UTC datetime of these fields, or :data:`_INVALID` when any is impossible."""
    offset = _offset(zone)
    if offset is None or year < 1:
        return _INVALID
    try:
        naive = datetime(year, month, day, int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return _INVALID  # month 13, 31 Feb, 25:00, second 61 …
    try:
        return (naive - timedelta(minutes=offset)).replace(tzinfo=UTC)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if year > 1970 else _INVALID


def _rfc822(s: str) -> datetime | object | None:
    """``[Day,] DD Mon YYYY HH:MM[:SS] zone`` → UTC datetime, :data:`_INVALID`, or None."""
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
                return _INVALID  # e.g. 31 Feb, as the general reading decides
    return _rfc822_general(s)


def _rfc822_general(s: str) -> datetime | object | None:
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
    return _build(y, month, int(day), hh, mm, ss, zone)


def _from_struct(st: Any) -> datetime | None:
    try:
        return datetime(*(int(x) for x in st[:6]), tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return None
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def clamped_struct(st: Any, now: datetime) -> datetime | None:
    """A feedparser time struct → aware UTC datetime, None before 1970, ``now`` after it."""
    if not st:
        return None
    return _settle(_from_struct(st), now)[0]


def utc_now(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime (naive means UTC); the current time when None."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
