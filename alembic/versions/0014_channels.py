"""channel, channel_delivery: Slack / Teams webhooks and per-channel cadence (issue 14)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:00:00

New tables only: safe on SQLite and PostgreSQL, nothing rewritten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import curation.storage.tables
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = curation.storage.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("cadence", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("days", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", _TS(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_person_id"), ["person_id"], unique=False)
    op.create_table(
        "channel_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", _TS(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["digest_id"], ["digest.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest_id", "channel_id", name="uq_channel_delivery_once"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("channel_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_delivery_channel_id"), ["channel_id"], unique=False
        )
        batch_op.create_index("ix_channel_delivery_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_delivery_state")
        batch_op.drop_index(batch_op.f("ix_channel_delivery_channel_id"))
    op.drop_table("channel_delivery")
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_person_id"))
    op.drop_table("channel")
