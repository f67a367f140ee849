"""source_item_count: each source's item count, kept by triggers on item_source (issue 13)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:00:00

The workspace's sources page showed each source's item count by counting its ``item_source``
index entries: a cost that grew with the items (~20 ms a page of 50 sources at 100,000 items).
Now one row per source holds the count, filled here from ``item_source`` and kept by the
database: a trigger adds the rows inserted and takes away the rows deleted (also when an item
or a source is deleted and its rows go by cascade), whichever code writes them.

- SQLite: row triggers (an upsert per row inserted, an update per row deleted).
- PostgreSQL: statement triggers with transition tables (one grouped upsert per statement, so a
  feed's batch of links costs one statement, not one per link).

The count lives in its own table, not in ``source``: a later SQLite table rebuild of ``source``
(``batch_alter_table`` copies, drops and renames it) never meets a trigger that writes to it. A
later migration that rebuilds ``item_source`` itself drops its triggers with the old table and
must run :func:`create_triggers` again (``tests/storage/test_source_counts.py`` checks, at head,
that the triggers exist and that the counts agree with a recount).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER item_source_count_insert AFTER INSERT ON item_source
    BEGIN
        INSERT INTO source_item_count (source_id, item_count) VALUES (NEW.source_id, 1)
        ON CONFLICT (source_id) DO UPDATE SET item_count = item_count + 1;
    END
    """,
    """
    CREATE TRIGGER item_source_count_delete AFTER DELETE ON item_source
    BEGIN
        UPDATE source_item_count SET item_count = item_count - 1 WHERE source_id = OLD.source_id;
    END
    """,
)
_PG_TRIGGERS = (
    """
    CREATE FUNCTION source_item_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO source_item_count (source_id, item_count)
        SELECT source_id, count(*) FROM added GROUP BY source_id
        ON CONFLICT (source_id)
        DO UPDATE SET item_count = source_item_count.item_count + EXCLUDED.item_count;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION source_item_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE source_item_count c SET item_count = c.item_count - r.n
        FROM (SELECT source_id, count(*) AS n FROM removed GROUP BY source_id) r
        WHERE c.source_id = r.source_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER item_source_count_insert AFTER INSERT ON item_source
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION source_item_count_added()
    """,
    """
    CREATE TRIGGER item_source_count_delete AFTER DELETE ON item_source
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION source_item_count_removed()
    """,
)
_FILL = (
    "INSERT INTO source_item_count (source_id, item_count)"
    " SELECT source_id, count(*) FROM item_source GROUP BY source_id"
)


def create_triggers() -> None:
    """The triggers that keep ``source_item_count`` (again after a rebuild of ``item_source``)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE_TRIGGERS if sqlite else _PG_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "source_item_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id"),
        sqlite_autoincrement=True,
    )
    op.execute(_FILL)
    create_triggers()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in ("item_source_count_insert", "item_source_count_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else " ON item_source"))
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS source_item_count_added()")
        op.execute("DROP FUNCTION IF EXISTS source_item_count_removed()")
    op.drop_table("source_item_count")
