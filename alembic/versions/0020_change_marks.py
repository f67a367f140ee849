"""change_marks: a counter per kind of change, bumped by every write of that kind

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 08:30:00

Each API process keeps who holds which key and each person's feedback in memory; instead of
forgetting them every few seconds to see changes made by other processes, it reads these
counters once every few seconds and forgets only when one moved. Two rows to start with:
``people`` (a person, their key, interests, mutes or a web session changed) and ``feedback``
(a useful / not-for-me reaction changed).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    marks = op.create_table(
        "change_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic"),
        sqlite_autoincrement=True,
    )
    op.bulk_insert(marks, [{"topic": "people", "value": 0}, {"topic": "feedback", "value": 0}])


def downgrade() -> None:
    op.drop_table("change_marks")
