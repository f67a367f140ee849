"""digest.seen_item_id: the newest item id a digest was built (or filled) against

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:30:00

An empty day is filled when items arrive after it was recorded. Items carry the instant their
ingest cycle *started* as ``first_seen_at``, so a cycle in flight while the digest was recorded
stores items that look older than the digest; ids only grow, so the newest id at recording time
tells what arrived after. Existing rows keep NULL (then the window's end is compared instead).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN: atomic on both databases, nothing to rebuild
    op.add_column("digest", sa.Column("seen_item_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.drop_column("seen_item_id")
