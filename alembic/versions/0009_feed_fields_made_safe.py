"""existing rows brought under the feed-field rules of issue 17: safe site links, capped text

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:00:00

Ingest now stores a feed's home-page link only as an absolute http(s) URL without credentials,
and caps every text field it takes from a feed (``curation.ingest.clean.limits``). Rows stored
before keep what they had: this revision applies the same rules to them, so an old
``javascript:`` site link or a 7.8 MB summary is not served either.

Data only, no schema change: each row is rewritten only when the rule changes it, so running the
revision again changes nothing (safe to re-run). Only rows that break a rule are read: sources
(a few hundred) all, items only those whose length exceeds a cap. Downgrade keeps the cleaned
values (what was removed was unsafe or beyond the caps).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from curation.ingest.clean.limits import (
    MAX_AUTHOR_CHARS,
    MAX_CONTENT_HTML_CHARS,
    MAX_SUMMARY_HTML_CHARS,
    MAX_TITLE_CHARS,
    cut_html,
)
from curation.ingest.clean.source import source_link, source_title
from curation.ingest.clean.text import clean_text

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_source = sa.table(
    "source", sa.column("id", sa.Integer), sa.column("title"), sa.column("html_url")
)
_item = sa.table(
    "item",
    sa.column("id", sa.Integer),
    sa.column("title"),
    sa.column("author"),
    sa.column("summary_html"),
    sa.column("content_html"),
)
_ITEM_CUTS = (
    ("title", MAX_TITLE_CHARS, lambda v: clean_text(v, max_chars=MAX_TITLE_CHARS)),
    ("author", MAX_AUTHOR_CHARS, lambda v: clean_text(v, max_chars=MAX_AUTHOR_CHARS)),
    ("summary_html", MAX_SUMMARY_HTML_CHARS, lambda v: cut_html(v, MAX_SUMMARY_HTML_CHARS)),
    ("content_html", MAX_CONTENT_HTML_CHARS, lambda v: cut_html(v, MAX_CONTENT_HTML_CHARS)),
)


def upgrade() -> None:
    conn = op.get_bind()
    for sid, title, html_url in conn.execute(
        sa.select(_source.c.id, _source.c.title, _source.c.html_url)
    ).all():
        values = {}
        if html_url is not None and source_link(html_url, None) != html_url:
            values["html_url"] = source_link(html_url, None)
        if title is not None and len(title) > MAX_TITLE_CHARS:
            values["title"] = source_title(title)
        if values:
            conn.execute(sa.update(_source).where(_source.c.id == sid).values(**values))
    for name, cap, cut in _ITEM_CUTS:
        column = _item.c[name]
        rows = conn.execute(
            sa.select(_item.c.id, column).where(sa.func.length(column) > cap)
        ).all()
        for item_id, value in rows:
            conn.execute(sa.update(_item).where(_item.c.id == item_id).values({name: cut(value)}))


def downgrade() -> None:
    pass  # the removed values were unsafe or beyond the caps: nothing to restore
