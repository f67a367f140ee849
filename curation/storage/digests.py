"""SQL for recorded digests (tables ``digest`` and ``digest_item``).

A digest is keyed by (person, local date) and each delivered item by (person, item), both
unique, so recording is atomic even when two processes race: the loser reads the winner's.
The row's ``payload`` is the :class:`~curation.digest.view.DigestView` as JSON, so the API and
the e-mail always show the same content.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from curation.storage.tables import Digest, DigestItem, Item
from curation.vocab import DeliveryStatus

digest_table = Digest.__table__
digest_item_table = DigestItem.__table__
item_table = Item.__table__
_NEWEST_ITEM = select(func.coalesce(func.max(item_table.c.id), 0)).scalar_subquery()
# PostgreSQL 14+ built with lz4 (most are): payloads (~50 KB of JSON each) of this transaction
# compressed by lz4, several times faster than the default pglz, for about as much space
# (read back transparently; elsewhere a no-op)
_FAST_TOAST = text(
    "SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings"
    " WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
)
_IN_BATCH = 2000  # ids per IN (...) list, digests per multi-row INSERT: under SQLite's limits
_INSERT_BATCH = 500


@dataclass(frozen=True, slots=True)
class DigestRow:
    id: int
    day: str
    window_start: datetime
    window_end: datetime
    item_count: int
    seen_item_id: int | None
    payload: str | None = None  # only filled by :meth:`DigestRows.get`


#: the columns of a :class:`DigestRow` but its payload, in its order (rows are built positionally)
_ROW_COLUMNS = tuple(digest_table.c[f.name] for f in fields(DigestRow) if f.name != "payload")


@dataclass(frozen=True, slots=True)
class PickRow:
    """One recorded line of a digest."""

    item_id: int
    section: str
    score: float


@dataclass(frozen=True, slots=True)
class NewDigest:
    """A digest to record for a new (person, day): what :meth:`DigestRows.record_many` takes."""

    person_id: int
    day: str
    window_start: datetime
    picks: Sequence[PickRow]


def _batches(values: Sequence, size: int) -> list[Sequence]:
    return [values[start : start + size] for start in range(0, len(values), size)]


class DigestRows:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def get(self, person_id: int, day: str) -> DigestRow | None:
        """The person's digest for ``day``, with its payload."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_ROW_COLUMNS, digest_table.c.payload).where(
                    digest_table.c.person_id == person_id, digest_table.c.day == day
                )
            ).first()
        return DigestRow(*row) if row else None

    def last(self, person_id: int) -> DigestRow | None:
        """The person's latest digest (without its payload)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_ROW_COLUMNS)
                .where(digest_table.c.person_id == person_id)
                .order_by(digest_table.c.window_end.desc())
                .limit(1)
            ).first()
        return DigestRow(*row) if row else None

    def last_many(self, person_ids: Sequence[int]) -> dict[int, DigestRow]:
        """:meth:`last` for many people in one query per batch: person id -> latest digest."""
        newest_first = func.row_number().over(
            partition_by=digest_table.c.person_id,
            order_by=(digest_table.c.window_end.desc(), digest_table.c.id.desc()),
        )
        out: dict[int, DigestRow] = {}
        with self.engine.connect() as conn:
            for batch in _batches(sorted(set(person_ids)), _IN_BATCH):
                ranked = (
                    select(*_ROW_COLUMNS, digest_table.c.person_id, newest_first.label("n"))
                    .where(digest_table.c.person_id.in_(batch))
                    .subquery()
                )
                columns = [ranked.c[c.name] for c in _ROW_COLUMNS]
                query = select(ranked.c.person_id, *columns).where(ranked.c.n == 1)
                for person_id, *row in conn.execute(query):
                    out[person_id] = DigestRow(*row)
        return out

    def get_many(self, keys: Sequence[tuple[int, str]]) -> dict[int, DigestRow]:
        """:meth:`get` for many (person, day): person id -> that day's digest, with payload."""
        wanted = set(keys)
        out: dict[int, DigestRow] = {}
        with self.engine.connect() as conn:
            for batch in _batches(sorted(wanted), _IN_BATCH):
                query = select(
                    digest_table.c.person_id, *_ROW_COLUMNS, digest_table.c.payload
                ).where(
                    digest_table.c.person_id.in_([p for p, _ in batch]),
                    digest_table.c.day.in_({d for _, d in batch}),
                )
                for person_id, *row in conn.execute(query):
                    if (person_id, row[1]) in wanted:
                        out[person_id] = DigestRow(*row)
        return out

    def newest_item_id(self) -> int:
        """The highest item id (0 with no items): what :meth:`has_news` compares against."""
        with self.engine.connect() as conn:
            return conn.execute(select(_NEWEST_ITEM)).scalar_one()

    def days(self, person_id: int, *, before: str | None, limit: int) -> list[DigestRow]:
        """The person's digests, newest day first, without payloads (a page of history)."""
        query = (
            select(*_ROW_COLUMNS)
            .where(digest_table.c.person_id == person_id)
            .order_by(digest_table.c.day.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(digest_table.c.day < before)
        with self.engine.connect() as conn:
            return [DigestRow(*row) for row in conn.execute(query)]

    def has_news(self, row: DigestRow) -> bool:
        """Whether any item was stored after ``row`` was built or last filled."""
        if row.seen_item_id is not None:
            newer = item_table.c.id > row.seen_item_id
        else:  # recorded before migration 0008
            newer = item_table.c.first_seen_at > row.window_end
        with self.engine.connect() as conn:
            return conn.execute(select(item_table.c.id).where(newer).limit(1)).first() is not None

    def delivered_among(
        self,
        person_ids: Sequence[int],
        *,
        first_seen_after: datetime,
        until: datetime,
        also: Sequence[int] = (),
    ) -> dict[int, set[int]]:
        """Every item recorded in one of these people's digests, limited to the items that
        can matter to a digest built now: those first seen in ``(first_seen_after, until]`` and
        the items ``also`` names (e.g. the gems on offer). Person id -> item ids."""
        window = select(item_table.c.id).where(
            item_table.c.first_seen_at > first_seen_after, item_table.c.first_seen_at <= until
        )
        relevant = digest_item_table.c.item_id.in_(window)
        if also:
            relevant = or_(relevant, digest_item_table.c.item_id.in_(sorted(set(also))))
        out: dict[int, set[int]] = {}
        with self.engine.connect() as conn:
            for batch in _batches(sorted(set(person_ids)), _IN_BATCH):
                query = select(digest_item_table.c.person_id, digest_item_table.c.item_id).where(
                    digest_item_table.c.person_id.in_(batch), relevant
                )
                for person_id, item_id in conn.execute(query):
                    out.setdefault(person_id, set()).add(item_id)
        return out

    def record_many(
        self,
        digests: Sequence[NewDigest],
        *,
        now: datetime,
        payload: Callable[[NewDigest, int], str],
    ) -> dict[int, str]:
        """Record new digests and their items in one transaction: person id -> stored payload
        for each digest recorded here (``payload(digest, id)`` renders the JSON once the row's
        id is known). A (person, day) another process recorded first is left as
        it is and absent from the result (the unique constraint decides, row by row).

        Rows are inserted in person order, so two builders of overlapping chunks wait for
        each other instead of deadlocking."""
        ordered = sorted(digests, key=lambda d: d.person_id)
        if not ordered:
            return {}
        ids: dict[int, int] = {}
        # one statement, compiled once; SQLAlchemy sends the rows as multi-row INSERTs
        insert = (
            self._insert(digest_table)
            .values(seen_item_id=_NEWEST_ITEM)
            .on_conflict_do_nothing(index_elements=["person_id", "day"])
            .returning(digest_table.c.id, digest_table.c.person_id)
        )
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(_FAST_TOAST)
            for batch in _batches(ordered, _INSERT_BATCH):
                values = [
                    {
                        "person_id": d.person_id,
                        "day": d.day,
                        "window_start": d.window_start,
                        "window_end": now,
                        "created_at": now,
                        "item_count": len(d.picks),
                        "payload": "{}",
                        "email_status": DeliveryStatus.PENDING if d.picks else DeliveryStatus.EMPTY,
                        "email_attempts": 0,
                    }
                    for d in batch
                ]
                inserted = conn.execute(insert, values)
                ids.update((person_id, digest_id) for digest_id, person_id in inserted)
            recorded = [d for d in ordered if d.person_id in ids]
            lines = [
                {
                    "digest_id": ids[d.person_id],
                    "person_id": d.person_id,
                    "item_id": p.item_id,
                    "section": p.section,
                    "position": n,
                    "score": p.score,
                }
                for d in recorded
                for n, p in enumerate(d.picks)
            ]
            if lines:
                conn.execute(self._insert(digest_item_table).on_conflict_do_nothing(), lines)
            bodies = {d.person_id: payload(d, ids[d.person_id]) for d in recorded}
            if not bodies:
                return bodies
            conn.execute(
                update(digest_table)
                .where(digest_table.c.id == bindparam("digest_id"))
                .values(payload=bindparam("body")),
                [{"digest_id": ids[p], "body": body} for p, body in bodies.items()],
            )
        return bodies

    def refill(
        self,
        row: DigestRow,
        *,
        person_id: int,
        now: datetime,
        picks: Sequence[PickRow],
        payload: Callable[[int], str],
    ) -> str | None:
        """Fill a day's *empty* digest with ``picks`` (an empty day never blocks a later build
        that day). Returns the new payload, or None when the row is no longer empty (another
        process filled it first)."""
        with self.engine.begin() as conn:
            if not picks:  # nothing to add: remember what was looked at, stay empty
                conn.execute(
                    update(digest_table)
                    .where(digest_table.c.id == row.id, digest_table.c.item_count == 0)
                    .values(seen_item_id=_NEWEST_ITEM)
                )
                return None
            done = conn.execute(
                update(digest_table)
                .where(digest_table.c.id == row.id, digest_table.c.item_count == 0)
                .values(
                    window_end=now,
                    item_count=len(picks),
                    seen_item_id=_NEWEST_ITEM,
                    email_status=DeliveryStatus.PENDING,
                    email_next_attempt_at=None,
                )
            )
            if done.rowcount != 1:
                conn.rollback()
                return None
            self._add_items(conn, row.id, person_id, picks)
            body = payload(row.id)
            conn.execute(
                update(digest_table).where(digest_table.c.id == row.id).values(payload=body)
            )
        return body

    def _add_items(self, conn, digest_id: int, person_id: int, picks: Sequence[PickRow]) -> None:  # noqa: ANN001
        if picks:
            conn.execute(
                self._insert(digest_item_table).on_conflict_do_nothing(),
                [
                    {
                        "digest_id": digest_id,
                        "person_id": person_id,
                        "item_id": p.item_id,
                        "section": p.section,
                        "position": n,
                        "score": p.score,
                    }
                    for n, p in enumerate(picks)
                ],
            )
