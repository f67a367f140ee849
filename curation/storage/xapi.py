"""SQL of the xAPI outbox (tables ``xapi_outbox`` and ``xapi_watermark``) and of the events
that become statements (read-only: ``digest_item``, ``feedback``, ``item_open``).

Events are read in pages after a stored watermark, each source rescanning a little before it
(:data:`OVERLAP_IDS` rows, :data:`OVERLAP_TIME`) so a transaction that committed late is still
seen; what was seen twice makes the same statement id, and the outbox's unique statement id
keeps it once. The outbox is filled with multi-row ``INSERT … ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from curation.storage.tables import (
    Digest,
    DigestItem,
    Feedback,
    Item,
    ItemOpen,
    Share,
    XapiOutbox,
    XapiWatermark,
)

outbox = XapiOutbox.__table__
marks = XapiWatermark.__table__
D = Digest.__table__
DI = DigestItem.__table__
F = Feedback.__table__
I = Item.__table__  # noqa: E741
O = ItemOpen.__table__  # noqa: E741
S = Share.__table__

PAGE = 2000  # events read per query, statements per INSERT
OVERLAP_IDS = 1000  # insert-only sources: rows below the watermark read again
OVERLAP_TIME = timedelta(minutes=10)  # feedback (rows are updated): time read again
PENDING, SENT = "pending", "sent"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """Something a person did with an item, as the collector reads it."""

    kind: str  # received | useful | not_useful | saved | opened | shared
    person_id: int
    item_id: int
    at: datetime
    title: str
    url: str | None
    day: str | None = None  # received: the digest's day


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    statement_id: str
    body: str
    attempts: int


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


class XapiStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # ---- watermarks ----------------------------------------------------------------------------

    def watermark(self, name: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(marks.c.position).where(marks.c.name == name)).scalar()
        return int(value or 0)

    def set_watermark(self, name: str, position: int) -> None:
        """Move a watermark forward (never back, whoever else moved it meanwhile)."""
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(marks)
                .values(name=name, position=0)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            conn.execute(
                update(marks)
                .where(marks.c.name == name, marks.c.position < position)
                .values(position=position)
            )

    # ---- events ------------------------------------------------------------------------------

    def received(self, after_id: int) -> tuple[list[Event], int]:
        """Items recorded in digests, from ``digest_item`` ids above ``after_id`` less the
        overlap, one page: the events and the highest id read (``after_id`` when none)."""
        query = (
            select(
                DI.c.id, DI.c.person_id, DI.c.item_id, D.c.day, D.c.window_end, I.c.title, I.c.url
            )
            .join(D, D.c.id == DI.c.digest_id)
            .join(I, I.c.id == DI.c.item_id)
            .where(DI.c.id > after_id)
            .order_by(DI.c.id)
            .limit(PAGE)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        events = [
            Event("received", person, item, end, title, url, day)
            for _, person, item, day, end, title, url in rows
        ]
        return events, max((r[0] for r in rows), default=after_id)

    def opened(self, after_id: int) -> tuple[list[Event], int]:
        """Counted opens of items from digest e-mails (``item_open``), as :meth:`received`."""
        return self._item_events("opened", O, O.c.opened_at, after_id)

    def shared(self, after_id: int) -> tuple[list[Event], int]:
        """Shares with a team (``share``; those of deleted people are left out), as
        :meth:`received`."""
        return self._item_events("shared", S, S.c.created_at, after_id)

    def _item_events(self, verb: str, table, at, after_id: int) -> tuple[list[Event], int]:  # noqa: ANN001
        """One page of ``table``'s rows (a person, an item, a time ``at``) above ``after_id``
        as events of ``verb``; rows without a person (deleted) are read but give no event."""
        query = (
            select(table.c.id, table.c.person_id, table.c.item_id, at, I.c.title, I.c.url)
            .join(I, I.c.id == table.c.item_id)
            .where(table.c.id > after_id)
            .order_by(table.c.id)
            .limit(PAGE)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        events = [Event(verb, p, i, when, title, url) for _, p, i, when, title, url in rows if p]
        return events, max((r[0] for r in rows), default=after_id)

    def reactions(self, after: tuple[int, int]) -> tuple[list[Event], tuple[int, int]]:
        """Feedback (useful, not_useful, saved) recorded after ``after`` = (time as epoch
        microseconds, row id), one page in that order: the events and the last key read."""
        at, row_id = _moment(after[0]), after[1]
        query = (
            select(
                F.c.id, F.c.person_id, F.c.item_id, F.c.signal, F.c.created_at, I.c.title, I.c.url
            )
            .join(I, I.c.id == F.c.item_id)
            .where(
                F.c.signal.in_(("useful", "not_useful", "saved")),
                or_(F.c.created_at > at, and_(F.c.created_at == at, F.c.id > row_id)),
            )
            .order_by(F.c.created_at, F.c.id)
            .limit(PAGE)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        events = [
            Event(signal, p, i, when, title, url) for _, p, i, signal, when, title, url in rows
        ]
        last = (_micros(rows[-1][4]), rows[-1][0]) if rows else after
        return events, last

    # ---- the outbox --------------------------------------------------------------------------

    def enqueue(self, statements: Sequence[tuple[str, str]], *, now: datetime) -> int:
        """Add (statement id, JSON) pairs; ids already queued are left as they are. Returns
        how many were new."""
        added = 0
        with self.engine.begin() as conn:
            for start in range(0, len(statements), PAGE):
                rows = [
                    {
                        "statement_id": sid,
                        "body": body,
                        "state": PENDING,
                        "attempts": 0,
                        "created_at": now,
                    }
                    for sid, body in statements[start : start + PAGE]
                ]
                done = conn.execute(
                    self._insert(outbox)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["statement_id"])
                    .returning(outbox.c.id)
                )
                added += len(done.all())
        return added

    def claim(self, *, now: datetime, limit: int, lease_until: datetime) -> list[Queued]:
        """Take up to ``limit`` pending statements whose next attempt has come, oldest first,
        and hold them until ``lease_until`` (their ``next_attempt_at``): a second flush running
        at the same time takes others, and a flush that dies mid-send leaves them due again
        once the lease ends. Marking them sent or failed ends the lease."""
        is_due = or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now)
        pick = (
            select(outbox.c.id)
            .where(outbox.c.state == PENDING, is_due)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        take = (
            update(outbox)
            .where(outbox.c.state == PENDING, is_due)
            .values(next_attempt_at=lease_until)
            .returning(outbox.c.id, outbox.c.statement_id, outbox.c.body, outbox.c.attempts)
        )
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # lock the picked rows first (others skip them), then lease them: PostgreSQL
                # would run a locking subquery again per row, and skip rows this same UPDATE
                # had just changed, taking more than ``limit``
                ids = conn.execute(pick.with_for_update(skip_locked=True)).scalars().all()
                rows = conn.execute(take.where(outbox.c.id.in_(ids))).all() if ids else []
            else:  # one statement: SQLite writes one at a time, reading after it took the lock
                rows = conn.execute(take.where(outbox.c.id.in_(pick.scalar_subquery()))).all()
        return sorted((Queued(*row) for row in rows), key=lambda q: q.id)

    def mark_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.state == PENDING)
                .values(state=SENT, sent_at=now, last_error=None, next_attempt_at=None)
            )

    def mark_failed(self, ids: Sequence[int], *, error: str, next_attempt_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.state == PENDING)
                .values(
                    attempts=outbox.c.attempts + 1,
                    last_error=error[:500],
                    next_attempt_at=next_attempt_at,
                )
            )

    def counts(self) -> dict[str, int]:
        """Statements per state (pending, sent)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
            return {state: n for state, n in rows}
