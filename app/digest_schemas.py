"""Response bodies of the digest endpoints, built from :mod:`curation.digest.view`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas import ItemHead, SourceRefOut
from curation.digest.service import Recommendation
from curation.digest.view import DigestView, EntryView, ItemView
from curation.storage.deliveries import DeliveryState


class DigestItemOut(ItemHead):
    published_at: datetime | None
    source: SourceRefOut | None
    sources: list[SourceRefOut]


class GemNote(BaseModel):
    id: int
    note: str = Field(description="The curator's note, plain text.")
    curator: str | None


class EntryOut(BaseModel):
    item: DigestItemOut
    score: float
    why: str = Field(description="Why the item is here, in plain words.")
    gem: GemNote | None
    shared_by: str | None = Field(
        None,
        description=(
            'In the "team" section: the teammate who shared it ("a former member" once their'
            " account is deleted); null elsewhere."
        ),
    )
    note: str | None = Field(
        None, description='In the "team" section: the sharer\'s note, plain text (or null).'
    )
    share_id: int | None = Field(None, description='In the "team" section: the share\'s id.')


class SectionOut(BaseModel):
    key: str = Field(description="`for_you`, `team` (From your team) or `gems`.")
    title: str
    items: list[EntryOut]


class DigestOut(BaseModel):
    date: str = Field(description="The person's local date, YYYY-MM-DD.")
    status: Literal["recorded", "preview"] = Field(
        description=(
            "`recorded`: the day's digest, built at the person's digest hour (or on the first"
            " request after it) and the same on every later request, except that an empty day"
            " is filled when new items arrive. `preview`: asked before the digest hour; what"
            " the digest would hold now, recorded nowhere (items shown here may still change)."
        )
    )
    ready_at: datetime | None = Field(
        description="For a preview: when the day's digest will be recorded."
    )
    note: str | None = Field(
        description="Why it is empty when the reason is not a quiet day (no model yet…)."
    )
    sections: list[SectionOut]


class DeliveryOut(BaseModel):
    """Where a digest's e-mail stands. `failed` is final: `error` says why (a permanent refusal
    gives the mail server's own words)."""

    status: Literal["pending", "sending", "sent", "empty", "failed", "skipped"]
    attempts: int
    error: str | None = Field(description="Why the last attempt failed, or why it was not sent")
    next_attempt_at: datetime | None = Field(description="pending: not before this")
    sent_at: datetime | None


class DigestSummaryOut(BaseModel):
    date: str
    items: int
    window_start: datetime
    window_end: datetime
    delivery: DeliveryOut | None = Field(
        None, description="The e-mail of this digest (`null`: not known)"
    )


class DeliveryListed(DeliveryOut):
    digest_id: int
    person_id: int
    date: str


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryListed]
    next_cursor: int | None = Field(description="Pass as `before` for older ones.")


class DigestHistory(BaseModel):
    digests: list[DigestSummaryOut]
    next_cursor: str | None = Field(description="Pass as `before` for older digests.")


class RecommendationOut(BaseModel):
    item: DigestItemOut
    score: float
    why: str


class RecommendationPage(BaseModel):
    items: list[RecommendationOut] = Field(description="Best first.")
    note: str | None = Field(
        description="Why the list is empty when the reason is not a quiet day (no model yet…)."
    )


def _item(view: ItemView) -> DigestItemOut:
    return DigestItemOut.model_validate(view, from_attributes=True)


def _entry(entry: EntryView) -> EntryOut:
    gem = entry.gem
    return EntryOut(
        item=_item(entry.item),
        score=entry.score,
        why=entry.why,
        gem=GemNote(id=gem.id, note=gem.note, curator=gem.curator) if gem else None,
        shared_by=entry.shared_by,
        note=entry.note,
        share_id=entry.share_id,
    )


def digest_out(view: DigestView) -> DigestOut:
    return DigestOut(
        date=view.date,
        status=view.status,  # type: ignore[arg-type]
        ready_at=view.ready_at,
        note=view.note,
        sections=[
            SectionOut(key=s.key, title=s.title, items=[_entry(e) for e in s.items])
            for s in view.sections
        ],
    )


def recommendation_out(rec: Recommendation) -> RecommendationOut:
    return RecommendationOut(item=_item(rec.item), score=rec.score, why=rec.why)


def delivery_out(state: DeliveryState) -> DeliveryOut:
    return DeliveryOut(
        status=state.status,  # type: ignore[arg-type]
        attempts=state.attempts,
        error=state.error,
        next_attempt_at=state.next_attempt_at,
        sent_at=state.sent_at,
    )


def delivery_listed(state: DeliveryState) -> DeliveryListed:
    return DeliveryListed(
        digest_id=state.digest_id,
        person_id=state.person_id,
        date=state.day,
        **delivery_out(state).model_dump(),
    )
