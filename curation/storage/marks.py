"""Change marks: one counter per kind of change, bumped inside the writing transaction.

A process that remembers data another process may change (who holds which key, a person's
feedback) reads :func:`read_marks` every few seconds and forgets only what a moved counter
covers, instead of forgetting everything every few seconds. Because the bump is part of the
write's own transaction, a reader that sees an old counter value also sees the old data, and a
reader that read the counter before the data never keeps data older than that value.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from curation.storage.tables import ChangeMarks

PEOPLE = "people"  # a person, their key, interests or mutes, or a web session ended
FEEDBACK = "feedback"  # a useful / not-for-me reaction recorded, replaced or imported

marks_table = ChangeMarks.__table__


def bump(conn: Connection, topic: str) -> None:
    """Move ``topic``'s counter on, in the caller's transaction (the row is made if missing)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(marks_table)
        .values(topic=topic, value=1)
        .on_conflict_do_update(
            index_elements=[marks_table.c.topic], set_={"value": marks_table.c.value + 1}
        )
    )


def read_marks(engine: Engine) -> dict[str, int]:
    """Every counter by topic (a topic never bumped is absent: read it as 0)."""
    with engine.connect() as conn:
        return dict(conn.execute(select(marks_table.c.topic, marks_table.c.value)).all())
