"""item_source(source_id) index: each source's item count reads a narrow index (issue 13)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 00:00:00

The workspace's source list counts each source's ``item_source`` rows. The only index that
starts with ``source_id`` was the unique ``(source_id, guid)``, whose entries carry the entry
id; an index of ``source_id`` alone is several times narrower, so the count reads fewer pages.
A new index only: safe on SQLite and PostgreSQL, no row rewritten.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_item_source_source_id", "item_source", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_item_source_source_id", table_name="item_source")
