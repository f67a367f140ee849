"""SQL for delivering recorded digests: the ``email_*`` columns of table ``digest``.

Each due row is *claimed* with one atomic ``UPDATE … WHERE <still due>`` (of two runs racing
for a row exactly one changes it, and only that one sends), then its outcome is recorded.
While a row is ``sending``, ``email_next_attempt_at`` holds the end of its lease.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Row, and_, bindparam, exists, or_, select, update

from curation.storage.tables import Digest, Person
from curation.vocab import DeliveryStatus

digest_table = Digest.__table__
person_table = Person.__table__
PENDING, SENDING = DeliveryStatus.PENDING, DeliveryStatus.SENDING
UNSUBSCRIBED = "not sent: the person unsubscribed from e-mail digests"


def _due(now: datetime):  # noqa: ANN202 - a SQL expression
    """Rows this run may send: pending and not waiting, or left sending past their lease."""
    return or_(
        and_(
            digest_table.c.email_status == PENDING,
            or_(
                digest_table.c.email_next_attempt_at.is_(None),
                digest_table.c.email_next_attempt_at <= now,
            ),
        ),
        and_(digest_table.c.email_status == SENDING, digest_table.c.email_next_attempt_at <= now),
    )


def _waiting(now: datetime):  # noqa: ANN202 - a SQL expression
    """Rows nobody is working on: pending (waiting or not), or sending past their lease."""
    return or_(
        digest_table.c.email_status == PENDING,
        and_(digest_table.c.email_status == SENDING, digest_table.c.email_next_attempt_at <= now),
    )


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
    )
    .values(email_status=SENDING, email_next_attempt_at=bindparam("lease_until"))
    .returning(digest_table.c.payload, digest_table.c.person_id, digest_table.c.email_attempts)
)
_OUTCOME = (
    update(digest_table)
    .where(digest_table.c.id == bindparam("digest_id"), digest_table.c.email_status == SENDING)
    .values(
        email_status=bindparam("new_status"),
        email_attempts=bindparam("new_attempts"),
        email_error=bindparam("new_error"),
        email_next_attempt_at=bindparam("new_next_attempt_at"),
        email_sent_at=bindparam("new_sent_at"),
    )
)


class DeliveryRows:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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

    def outcome(
        self,
        digest_id: int,
        status: str,
        attempts: int,
        error: str | None,
        *,
        next_attempt_at: datetime | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                _OUTCOME,
                {
                    "digest_id": digest_id,
                    "new_status": status,
                    "new_attempts": attempts,
                    "new_error": error,
                    "new_next_attempt_at": next_attempt_at,
                    "new_sent_at": sent_at,
                },
            )
