"""Stored items without fetching feeds: a clean item built from a key, saving items for a
source, and counting rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from curation.ingest.records import CleanItem
from curation.storage.feeds import FeedWrite, Store

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def clean_item(
    key: str,
    *,
    title: str | None = None,
    text: str = "",
    published: datetime | None = None,
) -> CleanItem:
    return CleanItem(
        guid=key,
        dedupe_key=f"https://example.org/{key}",
        title=title or f"Item {key}",
        url=f"https://example.org/{key}",
        summary_html=f"<p>{text}</p>",
        content_html="",
        text=text,
        author=None,
        published_at=published or datetime(2026, 11, 1, tzinfo=UTC),
        updated_at=None,
        content_hash=key,
    )


def save(store: Store, source_id: int, *items: CleanItem, now: datetime = T0) -> None:
    """Store these items as one feed's fetch at ``now``."""
    store.save_feeds([FeedWrite(source_id, list(items))], now=now, next_attempt_at=now)


def count(store: Store, table) -> int:  # noqa: ANN001
    """How many rows the table holds."""
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()
