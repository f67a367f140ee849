"""collections of gems, item opens, and indexes for the insight queries

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:30:00

- ``collection``: a curator's named list of gems, published at a public feed URL whose
  unguessable ``token`` can be rotated; ``collection_gem``: its gems in order;
- ``item_open``: one counted open per (person, item) from the links in digest e-mails;
- ``interest_snapshot``: people per declared interest per day (the insight page's trend);
- ``ix_digest_item_item_id`` and ``ix_feedback_item_signal``: the insight queries count per
  item across everyone (the existing unique indexes lead with the person);
  ``ix_item_source_seen``: a source's items since a date, from the index alone.

New tables and indexes only: nothing existing is rewritten, safe on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import curation.storage.tables
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = curation.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "collection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("curator_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["curator_id"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "collection_gem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("gem_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["collection.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["gem_id"], ["gem.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collection_id", "gem_id", name="uq_collection_gem"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_collection_gem_gem_id", "collection_gem", ["gem_id"], unique=False)
    op.create_table(
        "item_open",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "item_id", name="uq_item_open_once"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_item_open_item_id", "item_open", ["item_id"], unique=False)
    op.create_table(
        "interest_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("phrase_key", sa.Text(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "phrase_key", name="uq_interest_snapshot_day"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_digest_item_item_id", "digest_item", ["item_id"], unique=False)
    op.create_index("ix_feedback_item_signal", "feedback", ["item_id", "signal"], unique=False)
    op.create_index(
        "ix_item_source_seen", "item", ["origin_source_id", "first_seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_item_source_seen", table_name="item")
    op.drop_index("ix_feedback_item_signal", table_name="feedback")
    op.drop_index("ix_digest_item_item_id", table_name="digest_item")
    op.drop_index("ix_item_open_item_id", table_name="item_open")
    op.drop_table("interest_snapshot")
    op.drop_table("item_open")
    op.drop_index("ix_collection_gem_gem_id", table_name="collection_gem")
    op.drop_table("collection_gem")
    op.drop_table("collection")
