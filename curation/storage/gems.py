"""SQL for curators' gems (table ``gem``): an item a curator recommends, with a note and an
audience. Callers get :class:`GemRecord` dataclasses.
A curator picks an item at most once (unique ``(item_id, curator_id)``); deleting the item
deletes its gems, deleting the curator keeps them without a curator. Audience phrases are
cleaned like interests (:func:`curation.curate.rules.clean_audience`) and stored as a JSON list.
Digests read gems through :meth:`GemStore.recent_gems` and :meth:`GemStore.gems_for_items`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from curation.clock import utcnow
from curation.curate.rules import clean_audience, clean_note
from curation.errors import Conflict, NotFound
from curation.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, page_of
from curation.storage.tables import Gem, Item, Person

G = Gem.__table__
I = Item.__table__  # noqa: E741
P = Person.__table__


@dataclass(frozen=True, slots=True)
class GemRecord:
    id: int
    item_id: int
    item_title: str
    item_url: str | None
    curator_id: int | None
    curator_name: str | None  # None once the curator is deleted
    note: str  # plain text
    audience: tuple[str, ...]
    created_at: datetime


_SELECT = (
    select(
        G.c.id,
        G.c.item_id,
        I.c.title.label("item_title"),
        I.c.url.label("item_url"),
        G.c.curator_id,
        P.c.name.label("curator_name"),
        G.c.note,
        G.c.audience,
        G.c.created_at,
    )
    .join(I, I.c.id == G.c.item_id)
    .outerjoin(P, P.c.id == G.c.curator_id)
)


def _record(row) -> GemRecord:  # noqa: ANN001
    """A row of :data:`_SELECT` (its columns are named as the record's fields)."""
    return GemRecord(**{**row._mapping, "audience": tuple(json.loads(row.audience))})


class GemStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, *, item_id: int, curator_id: int, note: str = "", audience: Iterable[str] = ()
    ) -> GemRecord:
        values = {
            "item_id": item_id,
            "curator_id": curator_id,
            "note": clean_note(note),
            "audience": json.dumps(list(clean_audience(audience)), ensure_ascii=False),
            "created_at": utcnow(),
        }
        with self.engine.begin() as conn:
            if conn.execute(select(I.c.id).where(I.c.id == item_id)).first() is None:
                raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
            if conn.execute(select(P.c.id).where(P.c.id == curator_id)).first() is None:
                raise NotFound(f"person {curator_id} does not exist", resource_id=curator_id)
            try:
                gem_id = conn.execute(G.insert().values(**values).returning(G.c.id)).scalar_one()
            except IntegrityError as exc:
                raise Conflict(
                    f"item {item_id} is already one of your gems", resource_id=item_id
                ) from exc
        return self.get(gem_id)

    def get(self, gem_id: int) -> GemRecord:
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT.where(G.c.id == gem_id)).first()
        if row is None:
            raise NotFound(f"gem {gem_id} does not exist", resource_id=gem_id)
        return _record(row)

    def list(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        curator_id: int | None = None,
        item_id: int | None = None,
    ) -> Page[GemRecord]:
        """Newest first, paged by keyset cursor like items."""
        check_limit(limit)
        before = decode_cursor(cursor)
        query = _SELECT.order_by(G.c.id.desc()).limit(limit + 1)
        if before is not None:
            query = query.where(G.c.id < before)
        if curator_id is not None:
            query = query.where(G.c.curator_id == curator_id)
        if item_id is not None:
            query = query.where(G.c.item_id == item_id)
        with self.engine.connect() as conn:
            rows = [_record(r) for r in conn.execute(query)]
        return page_of(rows, limit)

    def delete(self, gem_id: int) -> None:
        with self.engine.begin() as conn:
            if conn.execute(G.delete().where(G.c.id == gem_id)).rowcount == 0:
                raise NotFound(f"gem {gem_id} does not exist", resource_id=gem_id)

    # ---- for digests -----------------------------------------------------------------------

    def gems_for_items(self, item_ids: Sequence[int]) -> dict[int, list[GemRecord]]:
        """Every gem of each of ``item_ids`` (oldest first); items without gems are absent."""
        out: dict[int, list[GemRecord]] = {}
        ids = list(dict.fromkeys(item_ids))
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                query = _SELECT.where(G.c.item_id.in_(ids[start : start + 500])).order_by(G.c.id)
                for row in conn.execute(query):
                    out.setdefault(row.item_id, []).append(_record(row))
        return out

    def recent_gems(self, since: datetime, until: datetime | None = None) -> list[GemRecord]:
        """Gems created in ``[since, until)`` (``until`` open when None), oldest first."""
        query = _SELECT.where(G.c.created_at >= since).order_by(G.c.created_at, G.c.id)
        if until is not None:
            query = query.where(G.c.created_at < until)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    # ---- editing (the web workspace) -------------------------------------------------------

    def update(
        self, gem_id: int, *, note: str | None = None, audience: Iterable[str] | None = None
    ) -> GemRecord:
        """Change a gem's note and/or audience (None keeps one), cleaned as on creation; the
        gem keeps its id, so collections holding it still do."""
        values: dict[str, object] = {}
        if note is not None:
            values["note"] = clean_note(note)
        if audience is not None:
            values["audience"] = json.dumps(list(clean_audience(audience)), ensure_ascii=False)
        with self.engine.begin() as conn:
            found = conn.execute(select(G.c.id).where(G.c.id == gem_id)).first()
            if found is None:
                raise NotFound(f"gem {gem_id} does not exist", resource_id=gem_id)
            if values:
                conn.execute(G.update().where(G.c.id == gem_id).values(**values))
        return self.get(gem_id)
