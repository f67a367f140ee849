"""insight_figures: the latest computation of each curators' insight figure

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:30:00

The scheduler (or a worker's job) computes the insight figures and stores each one here as
JSON; API processes read them instead of each computing them again in a thread that holds the
interpreter for most of a second. A new table: nothing to move.
"""

from collections.abc import Sequence

import sqlalchemy as sa

import curation.storage.tables
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insight_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "computed_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("insight_figures")
