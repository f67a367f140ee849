"""drop ix_item_published_at: no query uses it, every insert paid for it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 11:00:00

Item lists are ordered by id and digest windows select on first_seen_at; nothing filters or
sorts on published_at. Measured on the ingest bench: the store's CPU per item drops by ~8 %.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_published_at")


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index("ix_item_published_at", ["published_at"], unique=False)
