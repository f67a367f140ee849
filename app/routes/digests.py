"""``/v1/me/digest``, ``/v1/me/digests/{date}`` and ``/v1/me/recommendations``.

The digest is built and recorded by :class:`~curation.digest.service.DigestService` on the
first request of the person's local day and returned unchanged after; recommendations are
the same ranking, live, recording nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from app.deps import Domain, DomainDep, Learner
from app.digest_schemas import DigestOut, RecommendationPage, digest_out, recommendation_out
from app.schemas import utc_instant
from curation.errors import InvalidInput
from curation.ingest.schedule import local_day
from curation.people.store import PersonRecord
from curation.storage.tables import utcnow

router = APIRouter(prefix="/v1/me", tags=["digest"])


class _Recorded:
    """Serialised digests by (person, local date): a recorded digest never changes."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.bodies: OrderedDict[tuple[int, str, str], bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[int, str, str]) -> bytes | None:
        with self.lock:
            body = self.bodies.get(key)
            if body is not None:
                self.bodies.move_to_end(key)
            return body

    def put(self, key: tuple[int, str, str], body: bytes) -> None:
        with self.lock:
            self.bodies[key] = body
            while len(self.bodies) > self.size:
                self.bodies.popitem(last=False)


_recorded = _Recorded()


def _build_today(me: PersonRecord, domain: Domain, now: datetime) -> bytes:
    return digest_out(domain.digests.today(me, now)).model_dump_json().encode()


@router.get("/digest", response_model=DigestOut)
async def today(me: Learner, domain: DomainDep) -> Response:
    """Today's digest in my time zone: built and recorded on first request, the same after."""
    now = utcnow()
    # created_at tells a new person apart from a deleted one whose id was reused
    key = (me.id, me.created_at.isoformat(), local_day(now, me.timezone))
    body = _recorded.get(key)  # answered on the event loop: no thread, no query
    if body is None:
        body = await run_in_threadpool(_build_today, me, domain, now)
        _recorded.put(key, body)
    return Response(content=body, media_type="application/json")


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
    if since is not None:
        if since.tzinfo is None:
            raise InvalidInput("since must carry a time zone, e.g. 2026-11-02T08:00:00Z")
        try:
            since = utc_instant(since)
        except ValueError as exc:
            raise InvalidInput("since is out of range") from exc
    found = domain.digests.recommendations(me, now=utcnow(), since=since, limit=limit)
    return RecommendationPage(items=[recommendation_out(r) for r in found])
