"""People as the store gives them back, without a database: a person row's fields, and the
record built from them."""

from __future__ import annotations

from datetime import UTC, datetime

from curation.people.records import PersonRecord


def person_row(
    person_id: int,
    *,
    email: str = "a@example.org",
    name: str = "A",
    created_at: datetime = datetime(2026, 11, 1, tzinfo=UTC),
) -> dict[str, object]:
    """The columns of a learner's row (UTC, digest at 07:00, e-mails on)."""
    return {
        "id": person_id,
        "email": email,
        "name": name,
        "role": "learner",
        "timezone": "UTC",
        "digest_hour": 7,
        "email_digests": True,
        "created_at": created_at,
    }


def person_record(person_id: int = 1, **fields: object) -> PersonRecord:
    return PersonRecord(**person_row(person_id, **fields))  # type: ignore[arg-type]
