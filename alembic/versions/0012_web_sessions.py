"""sign_in_link and web_session: one-time sign-in links and signed-in browsers of the web pages
(only a SHA-256 of each token is stored)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:20:00

New tables only: safe on SQLite and PostgreSQL, nothing rewritten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import curation.storage.tables
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sign_in_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_link_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_link_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", curation.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_session_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_web_session_person_id"))
    op.drop_table("web_session")
    with op.batch_alter_table("sign_in_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_link_expires_at"))
        batch_op.drop_index(batch_op.f("ix_sign_in_link_person_id"))
    op.drop_table("sign_in_link")
