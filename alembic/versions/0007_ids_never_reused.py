"""ids are never handed out twice: AUTOINCREMENT on every SQLite table

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00

Without AUTOINCREMENT, SQLite gives a new row the largest rowid *now in the table* plus one, so
deleting the newest source, person, item, gem or digest lets the next one take its id, and
anything that still names the old id (an e-mail link, a cursor, a client's copy, the
recommender's "newest item seen") then names a different row. With AUTOINCREMENT, SQLite keeps
the largest id ever used in ``sqlite_sequence`` and never goes below it. Every table gets it, so
no id in this schema ever names two rows.

SQLite cannot add AUTOINCREMENT to an existing table: each table is rebuilt (created anew,
rows copied with their ids, old table dropped, new one renamed; indexes and constraints are
reflected and recreated by Alembic's batch mode). Triggers die with their table, so the
triggers on a rebuilt table (the search triggers on ``item``, migrations 0003 and 0005) are read
first and recreated verbatim. ``item_fts`` is untouched and stays valid: item ids do not change.

Safety on SQLite:

- all of it runs in one transaction: Python's sqlite3 module does not open one before DDL, so
  the migration issues ``BEGIN`` itself when none is open. A failure anywhere rolls everything
  back: the database stays at 0006 with its data and can simply be upgraded again.
- foreign keys must be off (``DROP TABLE`` on a parent would otherwise cascade into its
  children). The connection that ``curation.storage.engine.upgrade`` gives Alembic has them off;
  with them on, the migration refuses before changing anything.
- rows deleted before this upgrade whose ids were above the largest surviving id leave no
  trace, so such an id can still be given out once more.

PostgreSQL: ``SERIAL`` sequences never hand out an id twice already; nothing to do.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every table of the schema at 0006, parents before children
TABLES = (
    "source",
    "item",
    "item_source",
    "person",
    "interest",
    "mute",
    "feedback",
    "rank_model",
    "digest",
    "digest_item",
    "gem",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar_one():
        raise RuntimeError(
            "migration 0007 rebuilds tables and must run with SQLite foreign keys off "
            "(dropping a table would cascade into the rows that reference it); "
            "run it through `curation.storage.engine.upgrade` / `alembic upgrade`"
        )
    raw = bind.connection.dbapi_connection
    if not raw.in_transaction:  # sqlite3 runs DDL in autocommit unless a transaction is open
        bind.exec_driver_sql("BEGIN")
    placeholders = ", ".join("?" for _ in TABLES)
    triggers = (
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' "  # noqa: S608 - only ? markers
            f"AND tbl_name IN ({placeholders}) ORDER BY name",
            TABLES,
        )
        .scalars()
        .all()
    )
    for name in TABLES:
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    for sql in triggers:
        bind.exec_driver_sql(sql)
