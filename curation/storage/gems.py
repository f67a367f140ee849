"""SQL for curators' gems (table ``gem``): an item a curator recommends, with a note and an
audience. Callers get :class:`GemRecord` dataclasses.
A curator picks an item at most once (unique ``(item_id, curator_id)``); deleting the item
deletes its gems, deleting the curator keeps them without a curator. Audience phrases are
cleaned like interests (:func:`curation.curate.rules.clean_audience`) and stored as a JSON list.
Digests read gems through :meth:`GemStore.recent_gems` and :meth:`GemStore.gems_for_items`.
A gem may also be aimed at teams (table ``gem_team``): ``GemRecord.teams`` lists them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, delete, select
from sqlalchemy.exc import IntegrityError

from curation.clock import utcnow
from curation.curate.rules import clean_audience, clean_note
from curation.errors import Conflict, InvalidInput, NotFound
from curation.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, page_of
from curation.storage.tables import Gem, GemTeam, Item, Person, Team

G = Gem.__table__
I = Item.__table__  # noqa: E741
P = Person.__table__
GT = GemTeam.__table__
T = Team.__table__


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
    teams: tuple[tuple[int, str], ...] = ()  # (team id, name): teams it is aimed at


#: a :class:`GemRecord`'s columns, in its fields' order (:func:`_record` reads them by position)
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
    """A row of :data:`_SELECT`, whose columns are the record's fields in order (read by
    position: a page of 50 gems, not 50 mappings)."""
    audience = row[7]
    return GemRecord(*row[:7], () if audience == "[]" else tuple(json.loads(audience)), row[8])


#: the teams each of the gems ``ids`` is aimed at, by name
_TEAMS_OF = (
    select(GT.c.gem_id, T.c.id, T.c.name)
    .join(T, T.c.id == GT.c.team_id)
    .where(GT.c.gem_id.in_(bindparam("ids", expanding=True)))
    .order_by(T.c.name, T.c.id)
)


def _with_teams(conn: Connection, records: list[GemRecord]) -> list[GemRecord]:
    """``records`` with the teams each is aimed at (one query per 500 gems)."""
    ids = [r.id for r in records]
    teams: dict[int, list[tuple[int, str]]] = {}
    for start in range(0, len(ids), 500):
        for gem_id, team_id, name in conn.execute(_TEAMS_OF, {"ids": ids[start : start + 500]}):
            teams.setdefault(gem_id, []).append((team_id, name))
    return [replace(r, teams=tuple(teams[r.id])) if r.id in teams else r for r in records]


def _set_teams(conn: Connection, gem_id: int, team_ids: Iterable[int]) -> None:
    ids = list(dict.fromkeys(team_ids))
    if ids:
        found = set(conn.execute(select(T.c.id).where(T.c.id.in_(ids))).scalars())
        unknown = [t for t in ids if t not in found]
        if unknown:
            raise InvalidInput(
                f"no such team: {', '.join(map(str, unknown))}", resource_id=unknown[0]
            )
    conn.execute(delete(GT).where(GT.c.gem_id == gem_id))
    if ids:
        conn.execute(GT.insert(), [{"gem_id": gem_id, "team_id": t} for t in ids])


class GemStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        item_id: int,
        curator_id: int,
        note: str = "",
        audience: Iterable[str] = (),
        teams: Iterable[int] = (),
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
            teams = tuple(teams)
            if not teams:  # a new gem has no teams to replace: gem_team is not touched
                return _record(conn.execute(_SELECT.where(G.c.id == gem_id)).one())
            _set_teams(conn, gem_id, teams)
        return self.get(gem_id)

    def get(self, gem_id: int) -> GemRecord:
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT.where(G.c.id == gem_id)).first()
            if row is None:
                raise NotFound(f"gem {gem_id} does not exist", resource_id=gem_id)
            return _with_teams(conn, [_record(row)])[0]

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
            rows = _with_teams(conn, [_record(r) for r in conn.execute(query)])
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
                for record in _with_teams(conn, [_record(r) for r in conn.execute(query)]):
                    out.setdefault(record.item_id, []).append(record)
        return out

    def recent_gems(self, since: datetime, until: datetime | None = None) -> list[GemRecord]:
        """Gems created in ``[since, until)`` (``until`` open when None), oldest first."""
        query = _SELECT.where(G.c.created_at >= since).order_by(G.c.created_at, G.c.id)
        if until is not None:
            query = query.where(G.c.created_at < until)
        with self.engine.connect() as conn:
            return _with_teams(conn, [_record(r) for r in conn.execute(query)])

    # ---- editing (the web workspace) -------------------------------------------------------

    def update(
        self,
        gem_id: int,
        *,
        note: str | None = None,
        audience: Iterable[str] | None = None,
        teams: Iterable[int] | None = None,
    ) -> GemRecord:
        """Change a gem's note, audience and/or teams (None keeps one), cleaned as on
        creation; the gem keeps its id, so collections holding it still do."""
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
            if teams is not None:
                _set_teams(conn, gem_id, teams)
        return self.get(gem_id)
