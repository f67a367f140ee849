"""SQL of delivery channels: ``channel`` (a person's e-mail cadence and chat webhooks) and
``channel_delivery`` (one row per digest and webhook channel, recorded before sending).

Rows of ``channel_delivery`` are created once per (digest, channel) (a unique constraint; a
racing second insert does nothing), *claimed* with one atomic ``UPDATE … WHERE <still due>``
that sets ``sending`` and a lease in ``next_attempt_at``, then given their outcome (the
e-mail's rule too: :mod:`curation.storage.leases`). Webhook URLs are read here and by the
delivery loop only; nothing here logs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, Integer, Row, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from curation.errors import CurationError
from curation.storage.leases import Lease, LeasedRows
from curation.storage.tables import Channel, ChannelDelivery, Digest

if TYPE_CHECKING:
    from curation.channels.sealing import UrlSeal

channel_table = Channel.__table__
delivery_table = ChannelDelivery.__table__
digest_table = Digest.__table__
WEBHOOK_KINDS = ("slack", "teams")
PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
OFF_CADENCE = "not posted: not a day of this channel's cadence"
DISABLED = "not posted: the channel was disabled"


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    id: int
    person_id: int
    kind: str
    url: str | None  # the secret: show it masked (curation.channels.addresses.mask_webhook)
    cadence: str
    weekday: int | None
    disabled_reason: str | None
    created_at: datetime

    def _replace_url(self, url: str | None) -> ChannelRecord:
        return replace(self, url=url)


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    kind: str
    url: str | None
    cadence: str
    weekday: int | None
    days: str  # the cadence's 7-day mask (curation.channels.cadence.days_mask)


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    digest_id: int
    channel_id: int
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    digest_id: int
    channel_id: int
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error: str | None
    sent_at: datetime | None


_CHANNEL_COLUMNS = (
    channel_table.c.id,
    channel_table.c.person_id,
    channel_table.c.kind,
    channel_table.c.url,
    channel_table.c.cadence,
    channel_table.c.weekday,
    channel_table.c.disabled_reason,
    channel_table.c.created_at,
)


class ChannelStore:
    """A person's channels. With a ``seal`` (:class:`curation.channels.sealing.UrlSeal`)
    webhook URLs are stored sealed and opened on reading; a URL that cannot be opened reads
    as None."""

    def __init__(self, engine: Engine, seal: UrlSeal | None = None) -> None:
        self.engine = engine
        self.seal = seal

    def _record(self, row: Row) -> ChannelRecord:
        return ChannelRecord(*row)._replace_url(self._open(row.url))

    def _open(self, stored: str | None) -> str | None:
        if stored is None or self.seal is None:
            return stored
        try:
            return self.seal.open(stored)
        except CurationError:
            return None

    def _sealed(self, url: str | None) -> str | None:
        return self.seal.seal(url) if url is not None and self.seal is not None else url

    def of_person(self, person_id: int) -> list[ChannelRecord]:
        query = (
            select(*_CHANNEL_COLUMNS)
            .where(channel_table.c.person_id == person_id)
            .order_by(channel_table.c.id)
        )
        with self.engine.connect() as conn:
            return [self._record(row) for row in conn.execute(query)]

    def get(self, channel_id: int) -> ChannelRecord | None:
        query = select(*_CHANNEL_COLUMNS).where(channel_table.c.id == channel_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return self._record(row) if row else None

    def replace(
        self, person_id: int, specs: Sequence[ChannelSpec], *, now: datetime
    ) -> list[ChannelRecord]:
        """Make the person's channels exactly ``specs``, in one transaction. A channel that
        stays (same kind and URL) keeps its row, its delivery history and its disabled reason,
        so saving the same list again never posts a digest twice; the others are new rows,
        which carry the digests recorded from ``now`` on."""
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(channel_table.c.id, channel_table.c.kind, channel_table.c.url).where(
                    channel_table.c.person_id == person_id
                )
            ).all()
            by_key = {(row.kind, self._open(row.url)): row.id for row in existing}
            kept: set[int] = set()
            for spec in specs:
                values = {"cadence": spec.cadence, "weekday": spec.weekday, "days": spec.days}
                channel_id = by_key.get((spec.kind, spec.url))
                if channel_id is not None and channel_id not in kept:
                    conn.execute(
                        update(channel_table).where(channel_table.c.id == channel_id).values(values)
                    )
                    kept.add(channel_id)
                    continue
                new_id = conn.execute(
                    channel_table.insert()
                    .values(
                        person_id=person_id,
                        kind=spec.kind,
                        url=self._sealed(spec.url),
                        created_at=now,
                        **values,
                    )
                    .returning(channel_table.c.id)
                ).scalar_one()
                kept.add(new_id)
            gone = [row.id for row in existing if row.id not in kept]
            if gone:
                conn.execute(delete(delivery_table).where(delivery_table.c.channel_id.in_(gone)))
                conn.execute(delete(channel_table).where(channel_table.c.id.in_(gone)))
        return self.of_person(person_id)

    def disable(self, channel_id: int, reason: str) -> bool:
        """Disable a channel with ``reason``; True only for the one call that disabled it."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(channel_table)
                    .where(
                        channel_table.c.id == channel_id, channel_table.c.disabled_reason.is_(None)
                    )
                    .values(disabled_reason=reason)
                ).rowcount
            )


_LEASE = Lease(
    key=delivery_table.c.id,
    status=delivery_table.c.state,
    attempts=delivery_table.c.attempts,
    error=delivery_table.c.error,
    next_attempt_at=delivery_table.c.next_attempt_at,
    sent_at=delivery_table.c.sent_at,
)
_due = _LEASE.due


class ChannelDeliveryRows(LeasedRows):
    """The ``channel_delivery`` rows: recorded, claimed, given an outcome
    (:meth:`~curation.storage.leases.LeasedRows.outcome`)."""

    lease = _LEASE

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def record_new(self, sends_on_day: Callable[[str, int | None, str], bool]) -> tuple[int, int]:
        """Record a row for every recorded digest with items and every enabled webhook channel
        of its person created before it that has none yet: ``pending`` on a day of the
        channel's cadence (``sends_on_day(cadence, weekday, day)``), ``skipped`` on the others
        (so they are never looked at again). Returns (pending, skipped) rows added."""
        missing = ~exists().where(
            delivery_table.c.digest_id == digest_table.c.id,
            delivery_table.c.channel_id == channel_table.c.id,
        )
        query = (
            select(
                digest_table.c.id,
                digest_table.c.day,
                channel_table.c.id,
                channel_table.c.cadence,
                channel_table.c.weekday,
            )
            .join(channel_table, channel_table.c.person_id == digest_table.c.person_id)
            .where(
                channel_table.c.kind.in_(WEBHOOK_KINDS),
                channel_table.c.disabled_reason.is_(None),
                digest_table.c.item_count > 0,
                digest_table.c.created_at >= channel_table.c.created_at,
                missing,
            )
            .order_by(digest_table.c.id, channel_table.c.id)
        )
        with self.engine.begin() as conn:
            rows = []
            for digest_id, day, channel_id, cadence, weekday in conn.execute(query):
                due = sends_on_day(cadence, weekday, day)
                rows.append(
                    {
                        "digest_id": digest_id,
                        "channel_id": channel_id,
                        "state": PENDING if due else SKIPPED,
                        "attempts": 0,
                        "error": None if due else OFF_CADENCE,
                    }
                )
            if rows:
                for start in range(0, len(rows), 1000):
                    conn.execute(
                        self._insert(delivery_table).on_conflict_do_nothing(
                            index_elements=["digest_id", "channel_id"]
                        ),
                        rows[start : start + 1000],
                    )
        pending = sum(1 for r in rows if r["state"] == PENDING)
        return pending, len(rows) - pending

    def settle_disabled(self, now: datetime) -> int:
        """Rows waiting for a channel that has been disabled become ``skipped``."""
        disabled = exists().where(
            channel_table.c.id == delivery_table.c.channel_id,
            channel_table.c.disabled_reason.is_not(None),
        )
        with self.engine.begin() as conn:
            return conn.execute(
                update(delivery_table)
                .where(_LEASE.waiting(now), disabled)
                .values(state=SKIPPED, error=DISABLED, next_attempt_at=None)
            ).rowcount

    def due(self, now: datetime, kinds: Sequence[str] = WEBHOOK_KINDS) -> list[int]:
        """The rows to post now, of channels of ``kinds``."""
        of_kind = exists().where(
            channel_table.c.id == delivery_table.c.channel_id, channel_table.c.kind.in_(kinds)
        )
        query = select(delivery_table.c.id).where(_due(now), of_kind).order_by(delivery_table.c.id)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def claim(self, delivery_id: int, *, now: datetime, lease_until: datetime) -> Claimed | None:
        """Take a due row (``sending`` until ``lease_until``); None when another run has it."""
        with self.engine.begin() as conn:
            row = conn.execute(
                update(delivery_table)
                .where(delivery_table.c.id == delivery_id, _due(now))
                .values(state=SENDING, next_attempt_at=lease_until)
                .returning(
                    delivery_table.c.digest_id,
                    delivery_table.c.channel_id,
                    delivery_table.c.attempts,
                )
            ).first()
        return Claimed(delivery_id, *row) if row else None

    def payload(self, digest_id: int) -> tuple[int, str] | None:
        """The recorded digest's person and payload (the DigestView JSON)."""
        query = select(digest_table.c.person_id, digest_table.c.payload).where(
            digest_table.c.id == digest_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row.person_id, row.payload) if row else None

    def all(self) -> list[DeliveryRow]:
        """Every row, oldest first (tests and the benchmark read them)."""
        query = select(
            delivery_table.c.id,
            delivery_table.c.digest_id,
            delivery_table.c.channel_id,
            delivery_table.c.state,
            delivery_table.c.attempts,
            delivery_table.c.next_attempt_at,
            delivery_table.c.error,
            delivery_table.c.sent_at,
        ).order_by(delivery_table.c.id)
        with self.engine.connect() as conn:
            return [DeliveryRow(*row) for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        query = select(delivery_table.c.state, func.count()).group_by(delivery_table.c.state)
        with self.engine.connect() as conn:
            return {state: n for state, n in conn.execute(query)}


# ---- the e-mail's cadence, as SQL over digest rows (used by curation.storage.deliveries) ------


class _WeekdayOf(FunctionElement):
    """The weekday of a ``YYYY-MM-DD`` text column, 0 Sunday … 6 Saturday, on each backend."""

    type = Integer()
    inherit_cache = True


@compiles(_WeekdayOf, "sqlite")
def _weekday_sqlite(element, compiler, **kw) -> str:  # noqa: ANN001
    return f"CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_WeekdayOf, "postgresql")
def _weekday_postgresql(element, compiler, **kw) -> str:  # noqa: ANN001
    day = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(DOW FROM CAST({day} AS DATE)) AS INTEGER)"


OFF_CADENCE_EMAIL = "not sent: not a day of the person's e-mail cadence"


def email_day():  # noqa: ANN201 - a SQL expression
    """True for digest rows whose day the person's e-mail channel sends on (or who have no
    e-mail channel: daily). Reads the channel's stored day mask; the rule is
    :func:`curation.channels.cadence.days_mask`'s."""
    day_flag = func.substr(channel_table.c.days, _WeekdayOf(digest_table.c.day) + 1, 1)
    return ~exists().where(
        channel_table.c.person_id == digest_table.c.person_id,
        channel_table.c.kind == "email",
        day_flag == "0",
    )
