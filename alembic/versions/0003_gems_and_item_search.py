"""curators' gems; full-text search over items

Revision ID: 0003
Revises: 0002

Search is per dialect (see curation/items.py):

- SQLite: an external-content FTS5 table ``item_fts`` over item(title, text), kept in sync by
  three triggers, filled once here from the existing rows.
- PostgreSQL: a GIN index on the same tsvector expression that the search query uses.

Neither is in the SQLModel metadata; curation/migration_filters.py keeps them out of the
autogenerate comparison.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import curation.storage.tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE item_fts USING fts5("
    "title, text, content='item', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER item_fts_ai AFTER INSERT ON item BEGIN "
    "INSERT INTO item_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER item_fts_ad AFTER DELETE ON item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER item_fts_au AFTER UPDATE OF title, text ON item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO item_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO item_fts(item_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS item_fts_au",
    "DROP TRIGGER IF EXISTS item_fts_ad",
    "DROP TRIGGER IF EXISTS item_fts_ai",
    "DROP TABLE IF EXISTS item_fts",
)
# must stay identical to curation.storage.items.PG_DOCUMENT, or the planner will not use the index
POSTGRES_UP = (
    "CREATE INDEX ix_item_fts ON item USING gin "
    "(to_tsvector('english'::regconfig, title || ' ' || text))",
)
POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_item_fts",)


def upgrade() -> None:
    op.create_table(
        "gem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("curator_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("created_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["curator_id"], ["person.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "curator_id", name="uq_gem_item_curator"),
    )
    with op.batch_alter_table("gem", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gem_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gem_curator_id"), ["curator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gem_item_id"), ["item_id"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)

    with op.batch_alter_table("gem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gem_item_id"))
        batch_op.drop_index(batch_op.f("ix_gem_curator_id"))
        batch_op.drop_index(batch_op.f("ix_gem_created_at"))
    op.drop_table("gem")
