"""The lease rule shared by rows that are delivered once: a digest's e-mail (the ``email_*``
columns of ``digest``, :mod:`.deliveries`) and a chat post (``channel_delivery``, :mod:`.channels`).

A row is ``pending`` (maybe not before ``next_attempt_at``) until a run *claims* it with one
atomic ``UPDATE … WHERE <still due>`` that sets ``sending`` and puts the end of its lease in
``next_attempt_at``; a row left ``sending`` past its lease (its run died) is due again. The
outcome is written only while the row is still ``sending``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from sqlalchemy import Column, Engine, Update, and_, bindparam, or_, update

from curation.vocab import DeliveryStatus

PENDING, SENDING = DeliveryStatus.PENDING, DeliveryStatus.SENDING


@dataclass(frozen=True, slots=True, eq=False)
class Lease:
    """The columns of one kind of leased row."""

    key: Column
    status: Column
    attempts: Column
    error: Column
    next_attempt_at: Column  # pending: not before; sending: end of the lease
    sent_at: Column
    outcome: Update = field(init=False)  # built once; bound per row by :meth:`LeasedRows.outcome`

    def __post_init__(self) -> None:
        statement = (
            update(self.key.table)
            .where(self.key == bindparam("row_id"), self.status == SENDING)
            .values(
                {
                    self.status: bindparam("new_status"),
                    self.attempts: bindparam("new_attempts"),
                    self.error: bindparam("new_error"),
                    self.next_attempt_at: bindparam("new_next_attempt_at"),
                    self.sent_at: bindparam("new_sent_at"),
                }
            )
        )
        object.__setattr__(self, "outcome", statement)

    def due(self, now: object):  # noqa: ANN201 - a SQL expression; ``now`` may be a bindparam
        """Rows a run may take: pending and not waiting, or left sending past their lease."""
        next_at = self.next_attempt_at
        return or_(
            and_(self.status == PENDING, or_(next_at.is_(None), next_at <= now)),
            and_(self.status == SENDING, next_at <= now),
        )

    def waiting(self, now: datetime):  # noqa: ANN201 - a SQL expression
        """Rows nobody is working on: pending (waiting or not), or sending past their lease."""
        return or_(
            self.status == PENDING, and_(self.status == SENDING, self.next_attempt_at <= now)
        )


class LeasedRows:
    """Base of the stores of leased rows: writes a claimed row's outcome."""

    lease: ClassVar[Lease]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def outcome(
        self,
        row_id: int,
        status: str,
        attempts: int,
        error: str | None,
        *,
        next_attempt_at: datetime | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        """Record how a claimed row went (nothing happens if it is no longer ``sending``)."""
        with self.engine.begin() as conn:
            conn.execute(
                self.lease.outcome,
                {
                    "row_id": row_id,
                    "new_status": status,
                    "new_attempts": attempts,
                    "new_error": error,
                    "new_next_attempt_at": next_attempt_at,
                    "new_sent_at": sent_at,
                },
            )
