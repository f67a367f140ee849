"""The portfolio service: saved items, personal notes, export and import, for one person at a time.

Every call takes the person it acts for from the caller's own identity (the HTTP edge passes the
authenticated person); nothing here accepts another person's id, so nobody (an admin included)
can read or fill someone else's portfolio through it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from curation.errors import InvalidInput, NotFound
from curation.paging import Page, check_limit
from curation.people.records import PersonRecord
from curation.portfolio import export, restore
from curation.portfolio.document import MAX_PERSONAL_NOTE_CHARS, read
from curation.portfolio.records import ImportReport, NoteRecord
from curation.publish.feed_writer import ATOM_TYPE
from curation.records import ItemRecord
from curation.storage.items import ItemQueries
from curation.storage.portfolio import PortfolioStore
from curation.textrules import has_control

Format = Literal["json", "atom", "xapi"]
FORMATS: tuple[str, ...] = ("json", "atom", "xapi")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SavedView:
    item: ItemRecord
    saved_at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class ExportFile:
    body: bytes
    media_type: str
    filename: str


class PortfolioService:
    def __init__(
        self,
        store: PortfolioStore,
        items: ItemQueries,
        *,
        base_url: str,
        max_import_bytes: int,
        max_import_items: int,
    ) -> None:
        self.store = store
        self.items = items
        self.base_url = base_url
        self.max_import_bytes = max_import_bytes
        self.max_import_items = max_import_items

    # ---- saved items -----------------------------------------------------------------------

    def saved(self, person_id: int, *, limit: int, cursor: str | None = None) -> Page[SavedView]:
        """The person's saved items, the most recently saved first, with their notes."""
        check_limit(limit)
        rows = self.store.saved(person_id, limit=limit + 1, after=decode_saved_cursor(cursor))
        page = rows[:limit]
        records = self.items.records([r.item_id for r in page])
        views = [
            SavedView(records[r.item_id], r.saved_at, r.note) for r in page if r.item_id in records
        ]
        more = len(rows) > limit and page
        return Page(
            views, encode_saved_cursor(page[-1].saved_at, page[-1].row_id) if more else None
        )

    def unsave(self, person_id: int, item_id: int) -> None:
        if not self.store.unsave(person_id, item_id):
            raise NotFound(f"item {item_id} is not among your saved items", resource_id=item_id)

    # ---- notes -----------------------------------------------------------------------------

    def set_note(self, person_id: int, item_id: int, note: str, now: datetime) -> NoteRecord:
        return self.store.set_note(person_id, item_id, clean_personal_note(note), now)

    def delete_note(self, person_id: int, item_id: int) -> None:
        if not self.store.delete_note(person_id, item_id):
            raise NotFound(f"you have no note on item {item_id}", resource_id=item_id)

    # ---- export and import -----------------------------------------------------------------

    def export(self, person: PersonRecord, fmt: str, now: datetime) -> ExportFile:
        """The person's portfolio as a file in ``fmt`` (json, atom or xapi)."""
        if fmt not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)}")
        entries = self.store.entries(person.id)
        stamp = f"{now:%Y-%m-%d}"
        if fmt == "atom":
            body = export.atom(person, entries, now=now, base_url=self.base_url)
            return ExportFile(body, ATOM_TYPE, f"portfolio-{stamp}.atom")
        if fmt == "xapi":
            statements = export.xapi(person.id, entries, base_url=self.base_url)
            body = json.dumps(statements, ensure_ascii=False).encode("utf-8")
            return ExportFile(body, "application/json", f"portfolio-{stamp}.xapi.json")
        doc = export.document(person, entries, now=now, base_url=self.base_url)
        return ExportFile(doc.to_json(), "application/json", f"portfolio-{stamp}.json")

    def import_(self, person: PersonRecord, raw: bytes, now: datetime) -> ImportReport:
        """Restore a JSON export into the person's own account (see :mod:`.restore`)."""
        if len(raw) > self.max_import_bytes:
            raise InvalidInput(f"the file is larger than {self.max_import_bytes} bytes")
        doc = read(raw, max_items=self.max_import_items)
        items = restore.plan(doc, now=now)
        shares = sum(len(i.shares) for i in doc.items)
        return self.store.restore(person.id, items, shares_listed=shares, now=now)


def clean_personal_note(note: str) -> str:
    """A person's note on an item: plain text, trimmed, 1 to 2,000 characters."""
    value = note.strip()
    if not value:
        raise InvalidInput("note is empty: delete the note instead")
    if len(value) > MAX_PERSONAL_NOTE_CHARS:
        raise InvalidInput(f"note longer than {MAX_PERSONAL_NOTE_CHARS} characters")
    if has_control(value):
        raise InvalidInput("note must not contain control characters")
    return value


# ---- the saved list's cursor: (saved_at, row id) of the last item seen -----------------------


def encode_saved_cursor(saved_at: datetime, row_id: int) -> str:
    micros = (saved_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"saved:{micros}:{row_id}".encode()).decode().rstrip("=")


def decode_saved_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raw = ""
    kind, _, rest = raw.partition(":")
    micros, _, row_id = rest.partition(":")
    if kind != "saved" or not micros.isdigit() or not row_id.isdigit() or len(rest) > 40:
        raise InvalidInput("cursor is not valid: pass the next_cursor of a previous page")
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), int(row_id)
    except OverflowError as exc:
        raise InvalidInput("cursor is not valid: pass the next_cursor of a previous page") from exc
