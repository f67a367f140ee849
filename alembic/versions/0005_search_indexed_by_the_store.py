"""SQLite search: new items are indexed by the store, not by a per-row trigger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:10:00

The AFTER INSERT trigger of 0003 tripled the cost of storing an item on a cold ingest. The store
now adds the rows a transaction inserted to ``item_fts`` in one statement before it commits
(curation/store.py), so search stays in step with the items. The update and delete triggers stay.
Items must therefore be inserted through the store; a row written by other means is searchable
after ``INSERT INTO item_fts(item_fts) VALUES ('rebuild')``. PostgreSQL is unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSERT_TRIGGER = (
    "CREATE TRIGGER item_fts_ai AFTER INSERT ON item BEGIN "
    "INSERT INTO item_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS item_fts_ai")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(INSERT_TRIGGER)
