"""personal digest feeds and the xAPI outbox

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:00:00

- ``personal_feed``: one private token per person for the Atom / JSON Feed of their digests;
- ``xapi_outbox``: xAPI statements for the learning record store, one row per statement id,
  pending until the LRS accepted it; ``ix_xapi_outbox_due``: the flush's "what is due" scan;
- ``xapi_watermark``: how far the statement collector has read each source of events.

New tables only: nothing existing is rewritten, safe on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import curation.storage.tables
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = curation.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "personal_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
        sa.UniqueConstraint("token"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("statement_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_xapi_outbox_due", "xapi_outbox", ["state", "next_attempt_at"], unique=False)
    op.create_table(
        "xapi_watermark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("xapi_watermark")
    op.drop_index("ix_xapi_outbox_due", table_name="xapi_outbox")
    op.drop_table("xapi_outbox")
    op.drop_table("personal_feed")
