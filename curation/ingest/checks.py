"""Checks a parsed feed must pass before anything of it is stored (pure: no I/O).

:func:`check_entries`: a feed whose entries all lack a title, a link and any content (an invalid
JSON Feed whose items have none of ``title``/``url``/``content_html``/``content_text``/
``summary``, an RSS feed of empty ``<item/>``) is broken, not healthy. It raises
:class:`~curation.errors.ParseError`, so ingest records the source as an error saying why and
stores nothing of it, and adding such a feed as a source is refused. A feed without entries is
fine (a new blog), and so is one where at least one entry is usable.

Called by ingest after parsing (:func:`curation.ingest.document.clean_feed`) and by the check of
a new source (:mod:`curation.ingest.discover`).
"""

from __future__ import annotations

from curation.errors import ParseError
from curation.ingest.records import ParsedEntry, ParsedFeed

__all__ = ["check_entries", "usable_entry"]


def _present(value: str | None) -> bool:
    return value is not None and bool(value.strip())


def usable_entry(entry: ParsedEntry) -> bool:
    """True when the entry carries a title, a link or some content (a summary counts)."""
    return any(_present(v) for v in (entry.title, entry.link, entry.content, entry.summary))


def check_entries(feed: ParsedFeed, *, url: str | None = None) -> ParsedFeed:
    """Return ``feed`` unchanged, or raise :class:`ParseError` when it has entries and none of
    them is usable (see :func:`usable_entry`)."""
    if feed.entries and not any(usable_entry(e) for e in feed.entries):
        count = len(feed.entries)
        if count == 1:
            reason = "its only entry has no title, link or content"
        else:
            reason = f"none of its {count} entries has a title, a link or content"
        raise ParseError(reason, resource_id=url)
    return feed
