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

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from curation.storage.tables import Digest, DigestItem, Item
from curation.vocab import DeliveryStatus

digest_table = Digest.__table__
digest_item_table = DigestItem.__table__
item_table = Item.__table__
_NEWEST_ITEM = select(func.coalesce(func.max(item_table.c.id), 0)).scalar_subquery()


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

    def delivered(self, person_id: int) -> set[int]:
        """Every item ever recorded in one of the person's digests."""
        with self.engine.connect() as conn:
            query = select(digest_item_table.c.item_id).where(
                digest_item_table.c.person_id == person_id
            )
            return set(conn.execute(query).scalars())

    def record(
        self,
        *,
        person_id: int,
        day: str,
        window_start: datetime,
        now: datetime,
        picks: Sequence[PickRow],
        payload: Callable[[int], str],
    ) -> str | None:
        """Record the digest and its items in one transaction; returns the stored payload, or
        None when another process recorded this (person, day) first.

        ``payload(digest_id)`` renders the JSON once the row's id is known.
        """
        with self.engine.begin() as conn:
            digest_id = conn.execute(
                self._insert(digest_table)
                .values(
                    person_id=person_id,
                    day=day,
                    window_start=window_start,
                    window_end=now,
                    created_at=now,
                    item_count=len(picks),
                    seen_item_id=_NEWEST_ITEM,
                    payload="{}",
                    email_status=DeliveryStatus.PENDING if picks else DeliveryStatus.EMPTY,
                    email_attempts=0,
                )
                .on_conflict_do_nothing(index_elements=["person_id", "day"])
                .returning(digest_table.c.id)
            ).scalar()
            if digest_id is None:
                conn.rollback()
                return None
            self._add_items(conn, digest_id, person_id, picks)
            body = payload(digest_id)
            conn.execute(
                update(digest_table).where(digest_table.c.id == digest_id).values(payload=body)
            )
        return body

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
