"""Small builders shared by tests that need stored items without fetching feeds."""

from __future__ import annotations

from datetime import UTC, datetime

from curation.ingest.records import CleanItem


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
