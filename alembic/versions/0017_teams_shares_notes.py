"""teams, team members, shares, gems aimed at teams, and personal notes on items

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 01:30:00

- ``team`` / ``team_member`` (role member | lead): who shares with whom;
- ``share``: an item passed on to a team with a note, once per (item, team); the sharer may be
  deleted (SET NULL: the share then reads "a former member");
- ``gem_team``: teams a curator aimed a gem at;
- ``item_note``: a person's own note on an item (their portfolio);
- ``ix_feedback_person_signal_at``: a person's saved items, newest first.

New tables only: nothing existing is rewritten, safe on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import curation.storage.tables
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = curation.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "team_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "person_id", name="uq_team_member"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_team_member_person_id", "team_member", ["person_id"], unique=False)
    op.create_table(
        "share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "team_id", name="uq_share_item_team"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_share_team_id", "share", ["team_id"], unique=False)
    op.create_index("ix_share_person_id", "share", ["person_id"], unique=False)
    op.create_index("ix_share_created_at", "share", ["created_at"], unique=False)
    op.create_table(
        "gem_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gem_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gem_id"], ["gem.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gem_id", "team_id", name="uq_gem_team"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_gem_team_team_id", "gem_team", ["team_id"], unique=False)
    op.create_table(
        "item_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "item_id", name="uq_item_note"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_item_note_item_id", "item_note", ["item_id"], unique=False)
    op.create_index(
        "ix_feedback_person_signal_at",
        "feedback",
        ["person_id", "signal", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_person_signal_at", table_name="feedback")
    op.drop_index("ix_item_note_item_id", table_name="item_note")
    op.drop_table("item_note")
    op.drop_index("ix_gem_team_team_id", table_name="gem_team")
    op.drop_table("gem_team")
    op.drop_index("ix_share_created_at", table_name="share")
    op.drop_index("ix_share_person_id", table_name="share")
    op.drop_index("ix_share_team_id", table_name="share")
    op.drop_table("share")
    op.drop_index("ix_team_member_person_id", table_name="team_member")
    op.drop_table("team_member")
    op.drop_table("team")
