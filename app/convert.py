"""Domain records to response bodies (the only place that knows both shapes)."""

from __future__ import annotations

from dataclasses import replace

from app import schemas
from curation.ingest.discover import FoundFeed
from curation.ingest.netpolicy import mask_credentials
from curation.ingest.pipeline import IngestSummary
from curation.people.records import PersonRecord
from curation.storage.gems import GemRecord
from curation.storage.items import ItemRecord
from curation.storage.sources import SourceRecord


def person(record: PersonRecord) -> schemas.PersonOut:
    return schemas.PersonOut(
        id=record.id,
        email=record.email,
        name=record.name,
        role=record.role,  # type: ignore[arg-type]
        timezone=record.timezone,
        digest_hour=record.digest_hour,
        email_digests=record.email_digests,
        created_at=record.created_at,
        interests=[schemas.InterestOut(phrase=p, weight=w) for p, w in record.interests],
        mutes=list(record.mutes),
    )


def _masked(text: str | None) -> str | None:
    return mask_credentials(text) if text else text


def source_shown(record: SourceRecord) -> SourceRecord:
    """A source as anyone outside the store sees it (API and pages): credentials in its URLs
    (and in its last error) masked; the record itself when there is nothing to mask (the
    common case: a page of 50 sources makes no copies)."""
    url, html_url = mask_credentials(record.url), _masked(record.html_url)
    last_error = _masked(record.last_error)
    if url == record.url and html_url == record.html_url and last_error == record.last_error:
        return record
    return replace(record, url=url, html_url=html_url, last_error=last_error)


def source(record: SourceRecord) -> schemas.SourceOut:
    """A source as the API shows it (:func:`source_shown`)."""
    return schemas.SourceOut.model_validate(source_shown(record), from_attributes=True)


def source_added(record: SourceRecord, check: FoundFeed | None) -> schemas.SourceAdded:
    found = None
    if check is not None:
        found = schemas.FeedCheckOut(
            format=check.version,
            entries=check.entries,
            found_on=_masked(check.page_url),
            other_feeds=[mask_credentials(url) for url in check.others],
        )
    return schemas.SourceAdded(**source(record).model_dump(), check=found)


def item(record: ItemRecord) -> schemas.ItemOut:
    return schemas.ItemOut.model_validate(record, from_attributes=True)


def item_detail(record: ItemRecord) -> schemas.ItemDetail:
    return schemas.ItemDetail.model_validate(record, from_attributes=True)


def gem(record: GemRecord) -> schemas.GemOut:
    curator = None
    if record.curator_id is not None:
        curator = schemas.CuratorOut(id=record.curator_id, name=record.curator_name)
    return schemas.GemOut(
        id=record.id,
        item_id=record.item_id,
        item=schemas.ItemRefOut(id=record.item_id, title=record.item_title, url=record.item_url),
        curator=curator,
        note=record.note,
        audience=list(record.audience),
        teams=[schemas.TeamRefOut(id=t, name=n) for t, n in record.teams],
        created_at=record.created_at,
    )


def ingest_summary(summary: IngestSummary) -> schemas.IngestOut:
    return schemas.IngestOut(
        summary=summary.line(),
        sources=len(summary.outcomes),
        ok=summary.count("ok"),
        not_modified=summary.count("not_modified"),
        failed=summary.count("error", "gone", "refused"),
        new_items=summary.new_items,
        updated_items=summary.updated_items,
        elapsed_seconds=round(summary.elapsed, 3),
        outcomes=[
            schemas.OutcomeOut.model_validate(o, from_attributes=True).model_copy(
                update={"url": mask_credentials(o.url), "error": _masked(o.error)}
            )
            for o in summary.outcomes
        ],
    )
