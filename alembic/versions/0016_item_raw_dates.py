"""item.published_raw / item.updated_raw: a date's text as the feed wrote it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:00:00

A date that is not the feed's own value — in the future (clamped to the fetch time) or
nonsense (year 0, month 13, an offset beyond ±14:00: stored as unknown) — keeps the text the
feed wrote, so a curator can see what it said and the item's identity does not move with the
clamp. NULL when the stored date is the feed's own. Plain ADD COLUMNs: atomic on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("item", sa.Column("published_raw", sa.Text(), nullable=True))
    op.add_column("item", sa.Column("updated_raw", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("updated_raw")
        batch_op.drop_column("published_raw")
