"""SQL for delivering recorded digests: the ``email_*`` columns of table ``digest``.

Each due row is *claimed* with one atomic ``UPDATE … WHERE <still due>`` (of two runs racing
for a row exactly one changes it, and only that one sends), then its outcome is recorded.
While a row is ``sending``, ``email_next_attempt_at`` holds the end of its lease (the rule
chat posts share: :mod:`curation.storage.leases`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Row, bindparam, exists, select, update

from curation.storage.channels import OFF_CADENCE_EMAIL, email_day
from curation.storage.leases import Lease, LeasedRows
from curation.storage.tables import Digest, Person
from curation.vocab import DeliveryStatus

digest_table = Digest.__table__
person_table = Person.__table__
PENDING, SENDING = DeliveryStatus.PENDING, DeliveryStatus.SENDING
UNSUBSCRIBED = "not sent: the person unsubscribed from e-mail digests"


_LEASE = Lease(
    key=digest_table.c.id,
    status=digest_table.c.email_status,
    attempts=digest_table.c.email_attempts,
    error=digest_table.c.email_error,
    next_attempt_at=digest_table.c.email_next_attempt_at,
    sent_at=digest_table.c.email_sent_at,
)
_due, _waiting = _LEASE.due, _LEASE.waiting


def _subscribed():  # noqa: ANN202 - a SQL expression
    return exists().where(
        person_table.c.id == digest_table.c.person_id, person_table.c.email_digests.is_(True)
    )


# Built once; each row then costs two short transactions: claim, and record the outcome.
_CLAIM = (
    update(digest_table)
    .where(
        digest_table.c.id == bindparam("digest_id"),
        _due(bindparam("now")),
        digest_table.c.item_count > 0,
        _subscribed(),
        email_day(),  # the person's e-mail cadence (issue 14)
    )
    .values(email_status=SENDING, email_next_attempt_at=bindparam("lease_until"))
    .returning(digest_table.c.payload, digest_table.c.person_id, digest_table.c.email_attempts)
)


class DeliveryRows(LeasedRows):
    """The e-mail columns of recorded digests: settled, claimed, given an outcome
    (:meth:`~curation.storage.leases.LeasedRows.outcome`)."""

    lease = _LEASE

    def settle(self, now: datetime) -> tuple[int, int]:
        """Mark waiting rows with nothing in them ``empty`` and those of people who
        unsubscribed ``skipped``; returns how many of each."""
        with self.engine.begin() as conn:
            empty = conn.execute(
                update(digest_table)
                .where(_waiting(now), digest_table.c.item_count <= 0)
                .values(email_status=DeliveryStatus.EMPTY, email_next_attempt_at=None)
            ).rowcount
            skipped = conn.execute(
                update(digest_table)
                .where(_waiting(now), ~_subscribed())
                .values(
                    email_status=DeliveryStatus.SKIPPED,
                    email_error=UNSUBSCRIBED,
                    email_next_attempt_at=None,
                )
            ).rowcount
            skipped += conn.execute(  # not a day of the person's e-mail cadence (issue 14)
                update(digest_table)
                .where(_waiting(now), ~email_day())
                .values(
                    email_status=DeliveryStatus.SKIPPED,
                    email_error=OFF_CADENCE_EMAIL,
                    email_next_attempt_at=None,
                )
            ).rowcount
        return empty, skipped

    def due(self, now: datetime) -> list[int]:
        with self.engine.connect() as conn:
            query = select(digest_table.c.id).where(_due(now)).order_by(digest_table.c.id)
            return list(conn.execute(query).scalars())

    def claim(self, digest_id: int, *, now: datetime, lease_until: datetime) -> Row | None:
        """The row's payload, person and attempts if this run took it; None if another did."""
        with self.engine.begin() as conn:
            return conn.execute(
                _CLAIM, {"digest_id": digest_id, "now": now, "lease_until": lease_until}
            ).first()


# ---- reading delivery states (the API shows them to the person and to admins) ----------------


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """Where one recorded digest's e-mail stands, and why when it did not go."""

    digest_id: int
    person_id: int
    day: str
    status: str
    attempts: int
    error: str | None  # the last failure (a permanent refusal: the server's own words)
    next_attempt_at: datetime | None  # pending: not before; sending: end of the lease
    sent_at: datetime | None


_STATE_COLUMNS = (
    digest_table.c.id,
    digest_table.c.person_id,
    digest_table.c.day,
    digest_table.c.email_status,
    digest_table.c.email_attempts,
    digest_table.c.email_error,
    digest_table.c.email_next_attempt_at,
    digest_table.c.email_sent_at,
)


class DeliveryStates:
    """Read-only: the delivery state of recorded digests."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of_days(self, person_id: int, days: Sequence[str]) -> dict[str, DeliveryState]:
        """The person's digests of ``days``, by day."""
        if not days:
            return {}
        query = select(*_STATE_COLUMNS).where(
            digest_table.c.person_id == person_id, digest_table.c.day.in_(list(days))
        )
        with self.engine.connect() as conn:
            return {row.day: DeliveryState(*row) for row in conn.execute(query)}

    def page(
        self,
        *,
        status: str | None = None,
        person_id: int | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[DeliveryState]:
        """Digests newest first (by id), optionally of one status and one person."""
        query = select(*_STATE_COLUMNS).order_by(digest_table.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(digest_table.c.email_status == status)
        if person_id is not None:
            query = query.where(digest_table.c.person_id == person_id)
        if before_id is not None:
            query = query.where(digest_table.c.id < before_id)
        with self.engine.connect() as conn:
            return [DeliveryState(*row) for row in conn.execute(query)]
