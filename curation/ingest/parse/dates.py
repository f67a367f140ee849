"""Dates in feeds: any form a feed may use → an aware UTC datetime, clamped into range.

:func:`parse_date` reads RFC 822 (``Sun, 01 Nov 2026 10:00:00 GMT``, the RSS form, read by
position when it has exactly that shape), ISO 8601/RFC 3339 (Atom, JSON Feed), and anything
else feedparser's date helpers know. Every result is clamped into [1970-01-01T00:00Z, now], so
absurd years (0, 9999, BCE) never crash.

:func:`clamped_date` and :func:`clamped_struct` (a feedparser time struct → datetime) are the
same rule for a ``now`` already made aware UTC by :func:`utc_now`; :func:`.feed.parse_feed`
hands them to the format parsers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from feedparser.datetimes import _parse_date as _feedparser_date

__all__ = ["EPOCH", "clamped_date", "clamped_struct", "parse_date", "utc_now"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_date(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """RFC 822, ISO 8601/RFC 3339 or any form feedparser knows → aware UTC datetime, or None.

    The result is clamped into [1970-01-01T00:00Z, now]: absurd years never crash.
    """
    return clamped_date(value, utc_now(now)) if value and isinstance(value, str) else None


_MONTHS = {"janfebmaraprmayjunjulaugsepoctnovdec"[i : i + 3]: i // 3 + 1 for i in range(0, 36, 3)}
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
          "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}  # fmt: skip
_RFC822_RE = re.compile(
    r"(?:[A-Za-z]{2,9}\.?,?\s*)?(\d{1,2})[\s\-]+([A-Za-z]{3,9})\.?[\s\-]+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d{1,9})?\s*([A-Za-z]{1,5}|[+\-]\d{2}:?\d{2})?\s*"
)


def clamped_date(value: str | None, now: datetime) -> datetime | None:
    """:func:`parse_date` for a ``now`` that is already aware UTC (see :func:`utc_now`)."""
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
    return clamped_struct(st, now)


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


def clamped_struct(st: Any, now: datetime) -> datetime | None:
    """A feedparser time struct → aware UTC datetime clamped into [1970, ``now``], or None."""
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


def utc_now(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime (naive means UTC); the current time when None."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
