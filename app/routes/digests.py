"""``/v1/me/digest``, ``/v1/me/digests/{date}`` and ``/v1/me/recommendations``.

The digest is built and recorded by :class:`curation.digest.DigestService` on the first request
of the person's local day and returned unchanged after; recommendations are the same ranking,
live, recording nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.deps import DomainDep, Learner
from app.digest_schemas import DigestOut, RecommendationPage, digest_out, recommendation_out
from curation.errors import InvalidInput
from curation.models import utcnow

router = APIRouter(prefix="/v1/me", tags=["digest"])
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@router.get("/digest")
def today(me: Learner, domain: DomainDep) -> DigestOut:
    """Today's digest in my time zone: built and recorded on first request, the same after."""
    return digest_out(domain.digests.today(me, utcnow()))


@router.get("/digests/{day}")
def for_date(
    day: Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")],
    me: Learner,
    domain: DomainDep,
) -> DigestOut:
    return digest_out(domain.digests.for_date(me.id, day))


@router.get("/recommendations")
def recommendations(
    me: Learner,
    domain: DomainDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    since: Annotated[
        datetime | None, Query(description="ISO 8601; default: the digest window")
    ] = None,
) -> RecommendationPage:
    """Live ranking of items first seen after ``since``; records nothing."""
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since must carry a time zone, e.g. 2026-11-02T08:00:00Z")
    found = domain.digests.recommendations(me, now=utcnow(), since=since, limit=limit)
    return RecommendationPage(items=[recommendation_out(r) for r in found])
