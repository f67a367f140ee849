"""Turning an imported portfolio document into what the store restores. Pure: no I/O.

Each item becomes the :class:`~curation.ingest.records.CleanItem` ingest would make of an entry
with that link, title and summary (:func:`curation.ingest.clean.clean_entry`): the same
canonical URL is the same dedupe key, so an item this instance already holds is found, whatever
tracking parameters or letter case its URL had in the file. An item with no http(s) URL cannot be
matched with a feed's entry; it is keyed ``portfolio:<fallback id>`` (from its title and date), so
importing it again finds the one made the first time.

Shares are listed in the export but never re-shared on import: a share is a message to a team of
the old instance, whose teams and people are not this one's, and sending it again would put old
items into new teammates' digests without them or the person asking for it.
"""

from __future__ import annotations

import html
from datetime import datetime

from curation.ingest.clean import clean_entry
from curation.ingest.records import ParsedEntry
from curation.portfolio.document import ItemDoc, PortfolioDoc
from curation.portfolio.records import RestoreItem, SignalMark

#: the dedupe key prefix of imported items without a web address
NO_URL_PREFIX = "portfolio:"


def plan(doc: PortfolioDoc, *, now: datetime) -> list[RestoreItem]:
    """One :class:`RestoreItem` per item of ``doc``, in the file's order."""
    return [_restore_item(item, now) for item in doc.items]


def _restore_item(doc: ItemDoc, now: datetime) -> RestoreItem:
    entry = ParsedEntry(
        title=doc.title,
        link=doc.url,
        summary=html.escape(doc.summary) if doc.summary else None,
        author=doc.author,
        published=doc.published_at,
    )
    item = clean_entry(entry, source_id=0, feed_url=doc.url or "")
    if item.url is None:
        item = item._replace(dedupe_key=NO_URL_PREFIX + item.guid)
    signals = tuple(SignalMark(s.signal, min(s.at, now)) for s in doc.signals)
    note = doc.note.strip() if doc.note else None
    note_at = min(doc.note_at, now) if doc.note_at else None
    # first seen when the person first met it, not now: an old item must not look new to the
    # ranker (it would reach other people's digests as today's news)
    moments = [now, *(s.at for s in signals)]
    if note_at is not None:
        moments.append(note_at)
    if doc.published_at is not None:
        moments.append(doc.published_at)
    return RestoreItem(
        item=item,
        first_seen_at=min(moments),
        signals=signals,
        note=note or None,
        note_at=note_at,
    )
