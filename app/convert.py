"""Domain records to response bodies (the only place that knows both shapes)."""

from __future__ import annotations

from app import schemas
from curation.ingest.pipeline import IngestSummary
from curation.people.store import PersonRecord
from curation.storage.feeds import SourceRecord
from curation.storage.gems import GemRecord
from curation.storage.items import ItemRecord


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


def source(record: SourceRecord) -> schemas.SourceOut:
    return schemas.SourceOut.model_validate(record, from_attributes=True)


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
            schemas.OutcomeOut.model_validate(o, from_attributes=True) for o in summary.outcomes
        ],
    )
