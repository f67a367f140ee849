"""SQL for curators' collections (tables ``collection`` and ``collection_gem``).

A collection is a named, ordered list of gems (``position`` ascending, ties by when added). A
gem is in a collection at most once (unique ``(collection_id, gem_id)``); deleting the gem or
the collection deletes its places; deleting the curator keeps the collection. The public token
is looked up by equality on its unique index. Callers get :class:`CollectionRow` dataclasses
and :class:`~curation.storage.gems.GemRecord` s in the collection's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from curation.curate.collections import MAX_GEMS_PER_COLLECTION
from curation.errors import Conflict, InvalidInput, NotFound
from curation.records import Choice
from curation.storage.gems import _SELECT as GEM_SELECT  # noqa: PLC2701 - same package
from curation.storage.gems import GemRecord, _record  # noqa: PLC2701 - same package
from curation.storage.tables import Collection, CollectionGem, Gem, Item

C = Collection.__table__
CG = CollectionGem.__table__
G = Gem.__table__
I = Item.__table__  # noqa: E741


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: int
    name: str
    description: str
    curator_id: int | None
    token: str
    created_at: datetime
    updated_at: datetime
    gem_count: int


_COUNT = select(func.count()).select_from(CG).where(CG.c.collection_id == C.c.id).scalar_subquery()
_SELECT = select(
    C.c.id,
    C.c.name,
    C.c.description,
    C.c.curator_id,
    C.c.token,
    C.c.created_at,
    C.c.updated_at,
    _COUNT.label("gem_count"),
)


#: one collection (built once: a collection's page reads it at every view)
_GET = _SELECT.where(C.c.id == bindparam("collection_id"))


#: every collection's id and name, newest first like :meth:`CollectionStore.list` (built once)
_CHOICES = select(C.c.id, C.c.name).order_by(C.c.id.desc())


@dataclass(frozen=True, slots=True)
class GemChoice:
    """A gem as a list of choices shows it (the collection page's "add a gem")."""

    id: int
    item_title: str
    note: str


#: a collection's gems in its order (built once: the collection's page reads it at every view)
_GEMS = (
    GEM_SELECT.join(CG, CG.c.gem_id == G.c.id)
    .where(CG.c.collection_id == bindparam("collection_id"))
    .order_by(CG.c.position, CG.c.id)
)
#: the newest ``limit`` gems not in the collection (its page's choices to add)
_CANDIDATES = (
    select(G.c.id, I.c.title, G.c.note)
    .join(I, I.c.id == G.c.item_id)
    .where(
        ~select(CG.c.id)
        .where(CG.c.collection_id == bindparam("collection_id"), CG.c.gem_id == G.c.id)
        .exists()
    )
    .order_by(G.c.id.desc())
    .limit(bindparam("limit"))
)


def _row(row) -> CollectionRow:  # noqa: ANN001
    return CollectionRow(**row._mapping)


class CollectionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, *, name: str, description: str, curator_id: int | None, token: str, now: datetime
    ) -> CollectionRow:
        values = {
            "name": name,
            "description": description,
            "curator_id": curator_id,
            "token": token,
            "created_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(C.insert().values(**values).returning(C.c.id)).scalar_one()
        return self.get(new_id)

    def get(self, collection_id: int) -> CollectionRow:
        with self.engine.connect() as conn:
            row = conn.execute(_GET, {"collection_id": collection_id}).first()
        if row is None:
            raise NotFound(f"collection {collection_id} does not exist", resource_id=collection_id)
        return _row(row)

    def by_token(self, token: str) -> CollectionRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT.where(C.c.token == token)).first()
        return _row(row) if row is not None else None

    def list(self) -> list[CollectionRow]:
        """Every collection, newest first."""
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(_SELECT.order_by(C.c.id.desc()))]

    def choices(self) -> list[Choice]:
        """Every collection's id and name, newest first (as :meth:`list`)."""
        with self.engine.connect() as conn:
            return [Choice(*row) for row in conn.execute(_CHOICES)]

    def gems(self, collection_id: int) -> list[GemRecord]:
        """The collection's gems in its order."""
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(_GEMS, {"collection_id": collection_id})]

    def candidates(self, collection_id: int, limit: int) -> list[GemChoice]:
        """The newest ``limit`` gems not in the collection yet: what may be added to it (three
        columns a gem, read in one query)."""
        values = {"collection_id": collection_id, "limit": limit}
        with self.engine.connect() as conn:
            return [GemChoice(*row) for row in conn.execute(_CANDIDATES, values)]

    def add_gem(self, collection_id: int, gem_id: int, *, now: datetime) -> None:
        """Append ``gem_id`` at the end; Conflict when it is already there."""
        with self.engine.begin() as conn:
            self._touch(conn, collection_id, now)
            if conn.execute(select(G.c.id).where(G.c.id == gem_id)).first() is None:
                raise NotFound(f"gem {gem_id} does not exist", resource_id=gem_id)
            count, last = conn.execute(
                select(func.count(), func.max(CG.c.position)).where(
                    CG.c.collection_id == collection_id
                )
            ).one()
            if count >= MAX_GEMS_PER_COLLECTION:
                raise InvalidInput(
                    f"a collection holds at most {MAX_GEMS_PER_COLLECTION} gems",
                    resource_id=collection_id,
                )
            try:
                with conn.begin_nested():
                    conn.execute(
                        CG.insert().values(
                            collection_id=collection_id,
                            gem_id=gem_id,
                            position=(last or 0) + 1,
                            added_at=now,
                        )
                    )
            except IntegrityError as exc:
                raise Conflict(
                    f"gem {gem_id} is already in collection {collection_id}", resource_id=gem_id
                ) from exc

    def move_gem(self, collection_id: int, gem_id: int, position: int, *, now: datetime) -> None:
        """Put ``gem_id`` at ``position`` (1 is first; past the end means last), the others
        keeping their order; positions are rewritten 1..n (at most 500 rows)."""
        with self.engine.begin() as conn:
            self._touch(conn, collection_id, now)
            order = list(
                conn.execute(
                    select(CG.c.id, CG.c.gem_id)
                    .where(CG.c.collection_id == collection_id)
                    .order_by(CG.c.position, CG.c.id)
                )
            )
            moving = next((row for row in order if row.gem_id == gem_id), None)
            if moving is None:
                raise NotFound(
                    f"gem {gem_id} is not in collection {collection_id}", resource_id=gem_id
                )
            order.remove(moving)
            order.insert(max(0, position - 1), moving)
            for n, row in enumerate(order, start=1):
                conn.execute(CG.update().where(CG.c.id == row.id).values(position=n))

    def remove_gem(self, collection_id: int, gem_id: int, *, now: datetime) -> None:
        with self.engine.begin() as conn:
            self._touch(conn, collection_id, now)
            done = conn.execute(
                CG.delete().where(CG.c.collection_id == collection_id, CG.c.gem_id == gem_id)
            )
            if done.rowcount == 0:
                raise NotFound(
                    f"gem {gem_id} is not in collection {collection_id}", resource_id=gem_id
                )

    def set_token(self, collection_id: int, token: str, *, now: datetime) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                C.update().where(C.c.id == collection_id).values(token=token, updated_at=now)
            )
            if done.rowcount == 0:
                raise NotFound(
                    f"collection {collection_id} does not exist", resource_id=collection_id
                )

    def delete(self, collection_id: int) -> None:
        with self.engine.begin() as conn:
            if conn.execute(C.delete().where(C.c.id == collection_id)).rowcount == 0:
                raise NotFound(
                    f"collection {collection_id} does not exist", resource_id=collection_id
                )

    @staticmethod
    def _touch(conn, collection_id: int, now: datetime) -> None:  # noqa: ANN001
        """Mark the collection changed (its feed's ``updated``), or NotFound."""
        done = conn.execute(C.update().where(C.c.id == collection_id).values(updated_at=now))
        if done.rowcount == 0:
            raise NotFound(f"collection {collection_id} does not exist", resource_id=collection_id)
