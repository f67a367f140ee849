"""``/v1/insights`` (curators): what learners want, as aggregates only.

Every count of people is a number, or ``"fewer than 5"`` when it is under 5 (the rule lives in
:mod:`curation.curate.insights`); no answer says who read, opened or liked what.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.deps import Curator, DomainDep
from app.schemas import (
    MAX_ID,
    GemInsightOut,
    GemInsights,
    InterestInsightOut,
    InterestInsights,
    InterestMatchOut,
    ItemReachOut,
    SourceInsightOut,
    SourceInsights,
)
from curation.curate.insight_service import DEFAULT_GEMS_SHOWN, MAX_GEMS_SHOWN
from curation.curate.insights import DEFAULT_INTERESTS_SHOWN, MAX_INTERESTS_SHOWN

router = APIRouter(prefix="/v1/insights", tags=["insights"])


@router.get("/interests")
def interests(
    _: Curator,
    domain: DomainDep,
    limit: Annotated[int, Query(ge=1, le=MAX_INTERESTS_SHOWN)] = DEFAULT_INTERESTS_SHOWN,
) -> InterestInsights:
    """Declared interests by number of people, with their coverage in the last 7 and 30 days
    (items above the relevance floor) and ``gap`` when that is too few."""
    found = domain.insights.interests(limit=limit)
    return InterestInsights(
        interests=[InterestInsightOut.model_validate(i, from_attributes=True) for i in found]
    )


@router.get("/sources")
def sources(_: Curator, domain: DomainDep) -> SourceInsights:
    """Each source's last 30 days: items, how many reached a digest, useful / not-for-me."""
    found = domain.insights.sources()
    return SourceInsights(
        sources=[SourceInsightOut.model_validate(s, from_attributes=True) for s in found]
    )


@router.get("/gems")
def gems(
    _: Curator,
    domain: DomainDep,
    limit: Annotated[int, Query(ge=1, le=MAX_GEMS_SHOWN)] = DEFAULT_GEMS_SHOWN,
) -> GemInsights:
    """The newest gems: people who got each in a digest, opened it, marked it useful."""
    found = domain.insights.gems(limit=limit)
    return GemInsights(gems=[GemInsightOut.model_validate(g, from_attributes=True) for g in found])


@router.get("/items/{item_id}")
def item_reach(
    item_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: Curator, domain: DomainDep
) -> ItemReachOut:
    """Who an item would reach: the declared interests it matches above the relevance floor,
    and how many people declared at least one of them."""
    reach = domain.insights.item_reach(item_id)
    return ItemReachOut(
        item_id=reach.item_id,
        in_window=reach.in_window,
        interests=[
            InterestMatchOut.model_validate(m, from_attributes=True) for m in reach.interests
        ],
        people=reach.people,
    )
