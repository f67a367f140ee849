"""What crosses the portfolio's lines: saved entries, notes, portfolio entries, an import plan
and its report. Plain frozen records; ORM rows stay in :mod:`curation.storage.portfolio`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from curation.ingest.records import CleanItem


@dataclass(frozen=True, slots=True)
class SavedEntry:
    """An item the person saved: when, and their note on it (None when they wrote none)."""

    item_id: int
    saved_at: datetime
    note: str | None
    row_id: int  # the feedback row: the tie-breaker of the saved list's order


@dataclass(frozen=True, slots=True)
class NoteRecord:
    item_id: int
    note: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SignalMark:
    signal: str  # saved | useful
    at: datetime


@dataclass(frozen=True, slots=True)
class ShareMark:
    team: str
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class PortfolioEntry:
    """One item of a person's portfolio: what it is, and what they did with it."""

    item_id: int
    url: str | None
    title: str
    text: str  # plain text of the item (its summary or content)
    author: str | None
    published_at: datetime | None
    source_title: str | None
    source_url: str | None
    signals: tuple[SignalMark, ...]
    note: NoteRecord | None
    shares: tuple[ShareMark, ...]

    @property
    def last_at(self) -> datetime:
        """When the person last did something with the item."""
        moments = [s.at for s in self.signals] + [s.at for s in self.shares]
        if self.note is not None:
            moments.append(self.note.updated_at)
        return max(moments)


@dataclass(frozen=True, slots=True)
class RestoreItem:
    """One item of an import, ready for the store: the item as it would be stored when it is
    not there yet (found by ``item.dedupe_key`` otherwise), the signals and the note."""

    item: CleanItem
    first_seen_at: datetime
    signals: tuple[SignalMark, ...]
    note: str | None
    note_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did; a second import of the same file adds nothing."""

    items: int  # in the file
    items_found: int  # already stored here (same canonical URL)
    items_created: int
    signals_added: int
    notes_added: int
    notes_kept: int  # the person already had another note on the item here: kept
    shares_listed: int  # in the file; never re-shared (see curation.portfolio)
