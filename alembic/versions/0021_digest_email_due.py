"""ix_digest_email_due: the digests whose e-mail is waiting, found without reading them all

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 09:40:00

Every delivery pass asks which digests are pending (or left sending past their lease). Without
an index that is a scan of every digest ever recorded, which grows by the number of people
every day (100,000 people: 36 million rows after a year). An index on (email_status,
email_next_attempt_at) answers it from the few rows that are waiting.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_digest_email_due", "digest", ["email_status", "email_next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_digest_email_due", table_name="digest")
