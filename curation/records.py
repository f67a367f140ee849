"""Plain records that cross stage lines: an item as read, a reference to a source, a choice.

The item loader (:meth:`curation.storage.items.ItemQueries.records`) is the one place that
turns rows into these, for the curators' item list and for digests alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Choice:
    """A named thing as a list of choices shows it (teams' checkboxes, the "add to collection"
    menu): its id and name only, none of the counts its full record reads with a join."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class SourceRef:
    id: int
    title: str | None


@dataclass(frozen=True, slots=True)
class ItemRecord:
    id: int
    title: str  # plain text
    url: str | None
    summary: str  # sanitised HTML
    author: str | None
    published_at: datetime | None
    first_seen_at: datetime
    source: SourceRef | None  # where it was first seen; None once that source is deleted
    sources: tuple[SourceRef, ...]  # every source that carried it
    content: str | None = None  # sanitised HTML; only filled when asked for (one item)
    text: str | None = None  # plain text; only filled when asked for (digests)
