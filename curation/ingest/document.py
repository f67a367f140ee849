"""One fetched document → its clean items: parse the feed, clean each entry (pure CPU work).

This is the part of a cycle that is worth spreading over processes; it touches neither the
network nor the database, so it is safe to run in a worker process. Failures stay data: a bad
entry is skipped and counted, a document that is not a feed comes back as its
:class:`~curation.errors.ParseError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from curation.errors import ParseError
from curation.ingest.checks import check_entries, usable_entry
from curation.ingest.clean import clean_entry, source_link, source_title
from curation.ingest.netpolicy import mask_credentials
from curation.ingest.parse import FALLBACK_NOTE, parse_feed
from curation.ingest.records import CleanItem, FetchResult
from curation.settings import Settings
from curation.storage.sources import SourceRecord

__all__ = ["CleanFeed", "clean_feed", "clean_fetched"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CleanFeed:
    items: list[CleanItem]
    skipped: int  # entries dropped: empty (no title, link or content) or not cleanable (logged)
    title: str | None  # plain text, capped (curation.ingest.clean.source)
    link: str | None  # absolute http(s), no credentials, or None
    #: what the parser noticed and a curator should see (an encoding guessed, …); the
    #: "fallback parser used" note is left out: it is routine, not a problem of the feed
    warnings: tuple[str, ...] = ()


def clean_feed(
    body: bytes,
    *,
    source_id: int,
    url: str,
    content_type: str | None,
    settings: Settings,
    now: datetime,
) -> CleanFeed:
    """Parse and clean one document (pure CPU work, safe to run in a worker process).

    A bad entry is skipped and counted without losing the others, and so is an empty one (no
    title, link or content: nothing to show, never stored as "(untitled)"); a document that is
    not a feed at all, or that was cut short, raises :class:`~curation.errors.ParseError`.
    """
    feed = parse_feed(body, url=url, content_type=content_type, now=now)
    check_entries(feed, url=url)  # entries with no title, link or content: an error
    items: list[CleanItem] = []
    skipped = 0
    for entry in feed.entries[: settings.max_entries_per_feed]:
        if not usable_entry(entry):
            skipped += 1
            continue
        try:
            items.append(
                clean_entry(
                    entry,
                    source_id=source_id,
                    feed_url=url,
                    max_title_chars=settings.max_title_chars,
                )
            )
        except Exception:  # one hostile entry must not lose the rest of the feed
            log.warning("skipped an entry of %s", mask_credentials(url), exc_info=True)
            skipped += 1
    warnings = tuple(w for w in feed.warnings if not w.startswith(FALLBACK_NOTE))
    return CleanFeed(
        items, skipped, source_title(feed.title), source_link(feed.link, url), warnings
    )


def clean_fetched(
    src: SourceRecord, result: FetchResult, settings: Settings, now: datetime
) -> CleanFeed | ParseError | None:
    """The clean feed of one fetch, its :class:`ParseError`, or None when it brought no body."""
    if result.status != 200 or result.body is None:
        return None
    try:
        return clean_feed(
            result.body,
            source_id=src.id,
            url=result.final_url or src.url,
            content_type=result.content_type,
            settings=settings,
            now=now,
        )
    except ParseError as exc:
        return exc
    except Exception as exc:  # a parser bug must cost one feed, not the batch
        log.exception("could not read %s", mask_credentials(src.url))
        return ParseError(f"internal error while reading the feed ({type(exc).__name__})")
