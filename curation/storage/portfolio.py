"""SQL of a person's portfolio: saved items (``feedback`` rows with the ``saved`` signal), their
own notes (``item_note``), what goes into an export (their saved and useful items, notes and
shares; ``share`` is only read here) and restoring an import.

Every method takes the person's id from the caller's own identity: nothing here reads or
changes another person's rows. Callers get :mod:`curation.portfolio.records` objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from curation.errors import NotFound
from curation.portfolio.records import (
    ImportReport,
    NoteRecord,
    PortfolioEntry,
    RestoreItem,
    SavedEntry,
    ShareMark,
    SignalMark,
)
from curation.storage.marks import FEEDBACK, bump
from curation.storage.tables import Feedback, Item, ItemNote, Share, Source, Team
from curation.vocab import OPPOSITE_SIGNAL, RANKED_SIGNALS, Signal

F = Feedback.__table__
I = Item.__table__  # noqa: E741
N = ItemNote.__table__
S = Share.__table__
T = Team.__table__
SRC = Source.__table__

#: the signals a portfolio holds (not_useful and opened are not something a person keeps)
PORTFOLIO_SIGNALS = (Signal.SAVED.value, Signal.USEFUL.value)
_CHUNK = 500  # ids or keys per IN (...) list
TEXT_CHARS = 4000  # of an item's text read for an export (its summary is far shorter)


class PortfolioStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # ---- saved items -----------------------------------------------------------------------

    def saved(
        self, person_id: int, *, limit: int, after: tuple[datetime, int] | None = None
    ) -> list[SavedEntry]:
        """Up to ``limit`` saved items, newest first (by when saved, then by row), those after
        ``after`` (the ``(saved_at, row_id)`` of the last one seen) only."""
        query = (
            select(F.c.item_id, F.c.created_at, N.c.note, F.c.id)
            .select_from(
                F.outerjoin(N, and_(N.c.person_id == F.c.person_id, N.c.item_id == F.c.item_id))
            )
            .where(F.c.person_id == person_id, F.c.signal == Signal.SAVED.value)
            .order_by(F.c.created_at.desc(), F.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            at, row_id = after
            query = query.where(
                or_(F.c.created_at < at, and_(F.c.created_at == at, F.c.id < row_id))
            )
        with self.engine.connect() as conn:
            return [SavedEntry(*row) for row in conn.execute(query)]

    def unsave(self, person_id: int, item_id: int) -> bool:
        """Remove the item from the person's saved items; False when it was not there."""
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(F).where(
                    F.c.person_id == person_id,
                    F.c.item_id == item_id,
                    F.c.signal == Signal.SAVED.value,
                )
            )
        return done.rowcount > 0

    # ---- notes -----------------------------------------------------------------------------

    def set_note(self, person_id: int, item_id: int, note: str, now: datetime) -> NoteRecord:
        """Write the person's note on an item (replacing theirs); NotFound for no such item."""
        with self.engine.begin() as conn:
            if conn.execute(select(I.c.id).where(I.c.id == item_id)).first() is None:
                raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
            conn.execute(
                self._insert(N)
                .values(
                    person_id=person_id, item_id=item_id, note=note, created_at=now, updated_at=now
                )
                .on_conflict_do_update(
                    index_elements=["person_id", "item_id"],
                    set_={"note": note, "updated_at": now},
                )
            )
            row = conn.execute(
                select(N.c.item_id, N.c.note, N.c.created_at, N.c.updated_at).where(
                    N.c.person_id == person_id, N.c.item_id == item_id
                )
            ).one()
        return NoteRecord(*row)

    def delete_note(self, person_id: int, item_id: int) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(delete(N).where(N.c.person_id == person_id, N.c.item_id == item_id))
        return done.rowcount > 0

    # ---- the export ------------------------------------------------------------------------

    def entries(self, person_id: int) -> list[PortfolioEntry]:
        """Every item the person saved, found useful, wrote a note on or shared, oldest first
        (by when they first did something with it), with all of that."""
        signals: dict[int, list[SignalMark]] = {}
        notes: dict[int, NoteRecord] = {}
        shares: dict[int, list[ShareMark]] = {}
        with self.engine.connect() as conn:
            for item_id, signal, at in conn.execute(
                select(F.c.item_id, F.c.signal, F.c.created_at)
                .where(F.c.person_id == person_id, F.c.signal.in_(PORTFOLIO_SIGNALS))
                .order_by(F.c.created_at, F.c.id)
            ):
                signals.setdefault(item_id, []).append(SignalMark(signal, at))
            for row in conn.execute(
                select(N.c.item_id, N.c.note, N.c.created_at, N.c.updated_at).where(
                    N.c.person_id == person_id
                )
            ):
                notes[row.item_id] = NoteRecord(*row)
            for item_id, team, note, at in conn.execute(
                select(S.c.item_id, T.c.name, S.c.note, S.c.created_at)
                .join(T, T.c.id == S.c.team_id)
                .where(S.c.person_id == person_id)
                .order_by(S.c.created_at, S.c.id)
            ):
                shares.setdefault(item_id, []).append(ShareMark(team, note, at))
            ids = sorted(set(signals) | set(notes) | set(shares))
            items = {}
            for start in range(0, len(ids), _CHUNK):
                query = (
                    select(
                        I.c.id,
                        I.c.url,
                        I.c.title,
                        func.substr(I.c.text, 1, TEXT_CHARS).label("text"),
                        I.c.author,
                        I.c.published_at,
                        SRC.c.title.label("source_title"),
                        SRC.c.html_url,
                        SRC.c.url.label("feed_url"),
                    )
                    .select_from(I.outerjoin(SRC, SRC.c.id == I.c.origin_source_id))
                    .where(I.c.id.in_(ids[start : start + _CHUNK]))
                )
                for row in conn.execute(query):
                    items[row.id] = row
        out = []
        for item_id in ids:
            row = items.get(item_id)
            if row is None:  # deleted meanwhile
                continue
            out.append(
                PortfolioEntry(
                    item_id=item_id,
                    url=row.url,
                    title=row.title,
                    text=row.text,
                    author=row.author,
                    published_at=row.published_at,
                    source_title=row.source_title,
                    source_url=row.html_url or row.feed_url,
                    signals=tuple(signals.get(item_id, ())),
                    note=notes.get(item_id),
                    shares=tuple(shares.get(item_id, ())),
                )
            )
        out.sort(key=lambda e: (_first_at(e), e.item_id))
        return out

    # ---- the import ------------------------------------------------------------------------

    def restore(
        self, person_id: int, plan: Sequence[RestoreItem], *, shares_listed: int, now: datetime
    ) -> ImportReport:
        """Put ``plan`` into the person's account in one transaction: each item found by its
        dedupe key or stored (without a source), each signal added unless the person has it
        (a useful older than their own not_useful is left out: the latest reaction wins), each
        note added unless they already have one on the item. Running it again adds nothing."""
        keys = list(dict.fromkeys(r.item.dedupe_key for r in plan))
        created = 0
        signal_rows: list[dict[str, object]] = []
        note_rows: list[dict[str, object]] = []
        dropped: list[tuple[int, str]] = []  # (item, signal) replaced by a later opposite one
        notes_kept = 0
        with self.engine.begin() as conn:
            ids = self._item_ids(conn, keys)
            missing = [r for r in _first_of_each(plan) if r.item.dedupe_key not in ids]
            if missing:  # executemany: one compiled statement, sent in batches
                done = conn.execute(
                    self._insert(I)
                    .on_conflict_do_nothing(index_elements=["dedupe_key"])
                    .returning(I.c.id),
                    [_item_row(r) for r in missing],
                )
                created = len(done.all())  # a concurrent ingest may have stored one first
            if missing:
                ids = self._item_ids(conn, keys)
            mine = self._signals(conn, person_id, list(ids.values()))
            have_notes = self._noted(conn, person_id, list(ids.values()))
            for r in plan:
                item_id = ids[r.item.dedupe_key]
                held = mine.setdefault(item_id, {})
                for mark in r.signals:
                    if not _keep_signal(held, mark):
                        continue
                    opposite = OPPOSITE_SIGNAL.get(Signal(mark.signal))
                    if opposite is not None and held.pop(opposite.value, None) is not None:
                        dropped.append((item_id, opposite.value))
                    held[mark.signal] = mark.at
                    signal_rows.append(
                        {
                            "person_id": person_id,
                            "item_id": item_id,
                            "signal": mark.signal,
                            "created_at": mark.at,
                        }
                    )
                if r.note:
                    existing = have_notes.get(item_id)
                    if existing is None:
                        at = r.note_at or now
                        note_rows.append(
                            {
                                "person_id": person_id,
                                "item_id": item_id,
                                "note": r.note,
                                "created_at": at,
                                "updated_at": at,
                            }
                        )
                        have_notes[item_id] = r.note
                    elif existing != r.note:
                        notes_kept += 1
            for item_id, signal in dropped:
                conn.execute(
                    delete(F).where(
                        F.c.person_id == person_id, F.c.item_id == item_id, F.c.signal == signal
                    )
                )
            if signal_rows:
                conn.execute(F.insert(), signal_rows)
            ranked = [s for _, s in dropped] + [r["signal"] for r in signal_rows]
            if any(s in RANKED_SIGNALS for s in ranked):
                bump(conn, FEEDBACK)  # live rankings elsewhere read this person's feedback again
            if note_rows:
                conn.execute(N.insert(), note_rows)
        return ImportReport(
            items=len(plan),
            items_found=len(keys) - created,
            items_created=created,
            signals_added=len(signal_rows),
            notes_added=len(note_rows),
            notes_kept=notes_kept,
            shares_listed=shares_listed,
        )

    @staticmethod
    def _item_ids(conn, keys: Sequence[str]) -> dict[str, int]:  # noqa: ANN001
        out: dict[str, int] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            out.update(
                conn.execute(select(I.c.dedupe_key, I.c.id).where(I.c.dedupe_key.in_(chunk))).all()
            )
        return out

    @staticmethod
    def _signals(conn, person_id: int, item_ids: list[int]) -> dict[int, dict[str, datetime]]:  # noqa: ANN001
        out: dict[int, dict[str, datetime]] = {}
        for start in range(0, len(item_ids), _CHUNK):
            query = select(F.c.item_id, F.c.signal, F.c.created_at).where(
                F.c.person_id == person_id, F.c.item_id.in_(item_ids[start : start + _CHUNK])
            )
            for item_id, signal, at in conn.execute(query):
                out.setdefault(item_id, {})[signal] = at
        return out

    @staticmethod
    def _noted(conn, person_id: int, item_ids: list[int]) -> dict[int, str]:  # noqa: ANN001
        out: dict[int, str] = {}
        for start in range(0, len(item_ids), _CHUNK):
            query = select(N.c.item_id, N.c.note).where(
                N.c.person_id == person_id, N.c.item_id.in_(item_ids[start : start + _CHUNK])
            )
            out.update(conn.execute(query).all())
        return out


def _first_at(entry: PortfolioEntry) -> datetime:
    moments = [s.at for s in entry.signals] + [s.at for s in entry.shares]
    if entry.note is not None:
        moments.append(entry.note.created_at)
    return min(moments)


def _first_of_each(plan: Sequence[RestoreItem]) -> list[RestoreItem]:
    """One restore item per dedupe key (the first), for storing missing items once."""
    seen: dict[str, RestoreItem] = {}
    for r in plan:
        seen.setdefault(r.item.dedupe_key, r)
    return list(seen.values())


def _keep_signal(mine: dict[str, datetime], mark: SignalMark) -> bool:
    """Whether an imported signal is added: not when the person has it already, nor when they
    reacted the opposite way later than the file's reaction."""
    if mark.signal in mine:
        return False
    opposite = OPPOSITE_SIGNAL.get(Signal(mark.signal))
    return not (opposite is not None and opposite in mine and mine[opposite] >= mark.at)


def _item_row(r: RestoreItem) -> dict[str, object]:
    it = r.item
    return {
        "dedupe_key": it.dedupe_key,
        "origin_source_id": None,
        "url": it.url,
        "title": it.title,
        "summary_html": it.summary_html,
        "content_html": it.content_html,
        "text": it.text,
        "author": it.author,
        "published_at": it.published_at,
        "updated_at": it.updated_at,
        "first_seen_at": r.first_seen_at,
        "content_hash": it.content_hash,
    }
