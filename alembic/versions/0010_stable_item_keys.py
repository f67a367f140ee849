"""source.item_key and source.warning; link-less items keyed by their feed, not its row id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:10:00

An item without a link was keyed ``src:<source id>:<guid>``: a source deleted and added again
gets a new id, so its link-less items came back as new (and were e-mailed again). Each source
now has an ``item_key`` (a hash of its URL, the same when it is added again under that URL,
kept across redirects) and such items are keyed ``<item_key>:<guid>``. Existing sources get
their key from their current URL and their items are re-keyed; items of sources already
deleted keep their old key. ``warning`` holds what the last stored fetch found odd (e.g. ids
changing on every fetch).

Safe to re-run: each column is added only when missing, keys are filled only where NULL, and
only ``src:`` keys are rewritten.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _item_key(url: str) -> str:
    # the same as curation.storage.sources.item_key_of (a migration keeps its own copy: the
    # application's code may change after it was written)
    return "feed:" + hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("source")}
    for name in ("warning", "item_key"):
        if name not in columns:
            op.add_column("source", sa.Column(name, sa.Text(), nullable=True))
    source = sa.table("source", sa.column("id"), sa.column("url"), sa.column("item_key"))
    item = sa.table("item", sa.column("dedupe_key"))
    rows = bind.execute(sa.select(source.c.id, source.c.url, source.c.item_key)).all()
    for source_id, url, key in rows:
        if key is None:
            key = _item_key(url)
            bind.execute(source.update().where(source.c.id == source_id).values(item_key=key))
        old = f"src:{source_id}:"
        rest = sa.func.substr(item.c.dedupe_key, len(old) + 1)
        bind.execute(
            item.update()
            .where(item.c.dedupe_key.like(old + "%"))
            .values(dedupe_key=sa.literal(key + ":", sa.Text()) + rest)
        )


def downgrade() -> None:
    # keys stay as they are (a ``<item_key>:<guid>`` key is as unique as the old one)
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("item_key")
        batch_op.drop_column("warning")
