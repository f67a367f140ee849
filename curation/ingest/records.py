"""Typed records that cross stage boundaries: fetch results, parsed feeds and entries, clean items.

These are plain frozen dataclasses, except the per-entry records :class:`ParsedEntry` and
:class:`CleanItem`: a cold ingest makes tens of thousands of them, and an immutable named tuple is
built in less than half the time of a frozen dataclass (and unpickles six times faster). ORM
rows never leave :mod:`curation.storage.feeds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one conditional GET learned. ``body`` is None unless status is 200."""

    url: str  # the URL we asked for
    status: int  # final HTTP status (0 when no response at all)
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None  # after redirects
    permanent_url: str | None = None  # set when every hop to final_url was a 301/308
    error: str | None = None  # human-readable, set on failure
    permanent_error: bool = False  # 410 Gone or a refused address: do not retry soon
    elapsed: float = 0.0
    retry_after: float | None = None  # seconds a 429/503 asked us to wait (Retry-After)


class ParsedEntry(NamedTuple):
    """One entry as the feed stated it. Strings are raw (unsanitised, possibly hostile).

    ``title`` is plain text unless ``title_is_html``; ``summary`` and ``content`` are HTML
    (plain-text values are HTML-escaped by the parser, so they are always HTML).
    Dates are timezone-aware UTC, or None when missing/unparseable. ``published_raw`` and
    ``updated_raw`` keep a date's text when its value is not the feed's own: clamped to the
    fetch time (far future) or refused as nonsense (None); None otherwise.

    ``base`` is the URL that relative references left in ``summary`` and ``content`` resolve
    against: the entry's ``xml:base``, else the document's URL. The parser leaves them for the
    sanitiser, which resolves them as it checks every URL attribute
    (:func:`~curation.ingest.clean.sanitize.sanitize_html`); None when the parser resolved them
    itself, or knows no base (the cleaner then takes the entry's link, else the feed's URL).
    """

    guid: str | None = None
    title: str | None = None
    title_is_html: bool = False
    link: str | None = None
    summary: str | None = None
    content: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    published_raw: str | None = None
    updated_raw: str | None = None
    base: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A whole feed document; ``version`` names its format (``rss20``, ``atom10``, ``json11``…)."""

    version: str
    title: str | None = None
    link: str | None = None
    entries: tuple[ParsedEntry, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


class CleanItem(NamedTuple):
    """An entry ready for storage: sanitised HTML, plain text, a stable key and a canonical URL.

    Change one field of a copy with ``item._replace(field=value)``.
    """

    guid: str  # the feed's GUID, or a stable fallback derived from link/title/content
    dedupe_key: str  # canonical URL when there is a link, else a per-source key
    title: str  # plain text
    url: str | None
    summary_html: str  # sanitised
    content_html: str  # sanitised
    text: str  # plain text for ranking (title excluded)
    author: str | None
    published_at: datetime | None
    updated_at: datetime | None
    content_hash: str  # changes when anything we store changes
    published_raw: str | None = None  # the date's text when the value is not the feed's own
    updated_raw: str | None = None
