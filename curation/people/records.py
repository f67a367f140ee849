"""What the rest of the project knows of a person: plain frozen records, never ORM rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from curation.vocab import Role


@dataclass(frozen=True, slots=True)
class PersonRecord:
    id: int
    email: str
    name: str
    role: str
    timezone: str
    digest_hour: int
    email_digests: bool
    created_at: datetime
    interests: tuple[tuple[str, float], ...] = ()
    mutes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reaction:
    item_id: int
    signal: str
    at: datetime


@dataclass(frozen=True, slots=True)
class NewPerson:
    email: str
    name: str
    role: str = Role.LEARNER
    timezone: str = "UTC"
    digest_hour: int = 7
    interests: Sequence[tuple[str, float]] = field(default_factory=tuple)
    mutes: Sequence[str] = field(default_factory=tuple)
