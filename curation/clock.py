"""The one clock: aware UTC instants. Domain code takes ``now`` as an argument where it can."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
