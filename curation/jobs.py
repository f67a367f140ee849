"""Scheduled jobs shared by ``curation run`` and the CLI: refit the ranking model, build the
digests that are due and send them (each exactly once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from curation.digest.service import DigestService
from curation.mail.deliver import DeliveryReport, send_pending
from curation.rank.recommender import refresh_model
from curation.settings import Settings
from curation.storage.tables import utcnow


@dataclass(frozen=True, slots=True)
class DigestRun:
    built: int
    delivery: DeliveryReport

    def line(self) -> str:
        return f"{self.built} digests built; e-mail: {self.delivery.line()}"


def refresh_rank_model(engine: Engine, settings: Settings, now: datetime | None = None) -> bool:
    return refresh_model(engine, settings, now)


def send_due_digests(engine: Engine, settings: Settings, now: datetime | None = None) -> DigestRun:
    """Build every digest due now, then deliver every pending one. Safe to run again."""
    now = now or utcnow()
    built = DigestService(engine, settings).build_due(now)
    return DigestRun(len(built), send_pending(engine, settings, now=now))


def deliver_due_digests(engine: Engine, settings: Settings) -> tuple[int, int]:
    run = send_due_digests(engine, settings)
    return run.built, run.delivery.sent
