"""Parsing feed documents: bytes in, :class:`~curation.ingest.records.ParsedFeed` out.

- :mod:`.feed` — :func:`parse_feed`: format detection and dispatch, the entry point;
- :mod:`.dates` — :func:`parse_date`: every date form feeds use → aware UTC, clamped to range;
- :mod:`.fast` — the lxml fast path for well-formed RSS and Atom;
- :mod:`.fallback` — feedparser for everything else, behind a DTD guard;
- :mod:`.jsonfeed` — JSON Feed 1.0/1.1;
- :mod:`.common` — character decoding and the URL/text helpers both XML paths share.
"""

from __future__ import annotations

from curation.ingest.parse.dates import parse_date
from curation.ingest.parse.fallback import FALLBACK_NOTE
from curation.ingest.parse.feed import parse_feed

__all__ = ["FALLBACK_NOTE", "parse_date", "parse_feed"]
