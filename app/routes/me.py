"""``/v1/me``: the caller's own profile, interests, mutes, feedback and API key.

Everything here acts on the authenticated person only; no path or body names another person.
``PATCH /v1/me`` changes name, timezone, digest_hour and email_digests; the role and the e-mail
address are changed by an admin (``PATCH /v1/people/{id}``), and any other field is a 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from app import convert
from app.deps import DomainDep, Learner
from app.schemas import (
    ApiKeyOut,
    FeedbackIn,
    FeedbackOut,
    InterestIn,
    MePatch,
    PersonOut,
    Phrase,
)

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("")
def get_me(me: Learner) -> PersonOut:
    return convert.person(me)


@router.patch("")
def update_me(body: MePatch, me: Learner, domain: DomainDep) -> PersonOut:
    return convert.person(domain.people.update(me.id, **body.changes()))


@router.put("/interests")
def set_interests(
    body: Annotated[list[InterestIn], Body(max_length=50)], me: Learner, domain: DomainDep
) -> PersonOut:
    """Replace all of the caller's interests (the same phrase twice, ignoring case: last wins)."""
    record = domain.people.set_interests(me.id, [(i.phrase, i.weight) for i in body])
    return convert.person(record)


@router.put("/mutes")
def set_mutes(
    body: Annotated[list[Phrase], Body(max_length=50)], me: Learner, domain: DomainDep
) -> PersonOut:
    """Replace all of the caller's mutes: items matching a muted phrase are never offered."""
    return convert.person(domain.people.set_mutes(me.id, body))


@router.post("/feedback")
def record_feedback(body: FeedbackIn, me: Learner, domain: DomainDep) -> FeedbackOut:
    """React to an item; useful and not_useful replace each other. Feeds the ranker."""
    reaction = domain.people.record_feedback(me.id, body.item_id, body.signal)
    return FeedbackOut(item_id=reaction.item_id, signal=reaction.signal, at=reaction.at)  # type: ignore[arg-type]


@router.post("/api-key")
def rotate_my_key(me: Learner, domain: DomainDep) -> ApiKeyOut:
    """Issue a new API key for the caller (shown once); the key used for this call stops working."""
    return ApiKeyOut(api_key=domain.people.rotate_key(me.id))


# GET /v1/me/digest, /v1/me/digests/{day} and /v1/me/recommendations: app/routes/digests.py
