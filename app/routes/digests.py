"""``/v1/me/digest``, ``/v1/me/digests``, ``/v1/me/digests/{date}``, ``/v1/me/recommendations``.

The lifecycle is the domain's (:meth:`curation.digest.service.DigestService.today`): a preview
before the person's digest hour, the recorded digest from then on. Recommendations are the same
ranking, live, recording nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.caches import LiveAnswer, LiveAnswers, RecordedDigests, etag_matches
from app.deps import Deliveries, DomainDep, Learner
from app.digest_schemas import (
    DigestHistory,
    DigestOut,
    DigestSummaryOut,
    RecommendationPage,
    delivery_out,
    digest_out,
    recommendation_out,
)
from app.params import PageLimit
from app.schemas import utc_instant
from curation.clock import utcnow
from curation.digest.timing import local_day
from curation.errors import InvalidInput
from curation.people.records import PersonRecord
from curation.services import Curation

router = APIRouter(prefix="/v1/me", tags=["digest"])
log = logging.getLogger(__name__)

#: threads for live rankings that missed the cache, apart from the endpoints' few
#: (CURATION_API_THREADS): most of them wait for their batch (curation.rank.batching), and the
#: more wait, the more people one ranking call serves (measured with 1,000 people polling at 32
#: connections: 86 first answers a second with 4 threads, 137 with 32)
LIVE_THREADS = 32


def _live_threads(request: Request) -> CapacityLimiter:
    state = request.app.state
    limiter = getattr(state, "live_threads", None)
    if limiter is None:  # made on the event loop, on first use
        limiter = state.live_threads = CapacityLimiter(LIVE_THREADS)
    return limiter


@router.get("/digest", response_model=DigestOut)
async def today(request: Request, me: Learner, domain: DomainDep) -> Response:
    """Today's digest in my time zone.

    From my digest hour on: the day's digest, recorded once (by the scheduler or by the first
    request after the hour) and the same on every later request, except that an empty day is
    filled when something new arrives. Before the hour: a live **preview** (`status:
    "preview"`, `ready_at`), recorded nowhere."""
    now = utcnow()
    # created_at tells a new person apart from a deleted one whose id was reused
    key = (me.id, me.created_at.isoformat(), local_day(now, me.timezone))
    recorded: RecordedDigests = request.app.state.recorded_digests
    body = recorded.get(key)  # answered on the event loop: no thread, no query
    if body is None:
        view = await run_in_threadpool(domain.digests.today, me, now)
        body = digest_out(view).model_dump_json().encode()
        if view.status == "recorded" and view.item_count:  # final: it never changes again
            recorded.put(key, body)
    return Response(content=body, media_type="application/json")


@router.get("/digests/{day}")
def for_date(
    day: Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")],
    me: Learner,
    domain: DomainDep,
) -> DigestOut:
    return digest_out(domain.digests.for_date(me.id, day))


@router.get("/recommendations", response_model=RecommendationPage)
async def recommendations(
    request: Request,
    me: Learner,
    domain: DomainDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    since: Annotated[
        datetime | None, Query(description="ISO 8601; default: the digest window")
    ] = None,
) -> Response:
    """Live ranking of items first seen after ``since`` (default: the last
    `CURATION_DIGEST_WINDOW_HOURS`, whether or not a digest carried them), best first; records
    nothing. New items, a new model and feedback given elsewhere show within
    `CURATION_RANK_LIVE_CHECK_SECONDS`; a list older than `CURATION_RANK_CACHE_SECONDS` with
    nothing new is answered once more while it is ranked again behind. Carries an `ETag`: send
    it back as `If-None-Match` to get 304 while the list is unchanged."""
    if since is not None:
        if since.tzinfo is None:
            raise InvalidInput("since must carry a time zone, e.g. 2026-11-02T08:00:00Z")
        try:
            since = utc_instant(since)
        except ValueError as exc:
            raise InvalidInput("since is out of range") from exc
    answers: LiveAnswers = request.app.state.live_answers
    key = (me, limit, since)
    build = partial(_build, request, answers, domain, me, key, since, limit)
    # answered on the event loop (no thread, no query) while nothing it depends on changed
    version = domain.recommender.live_version(me.id)
    answer = answers.get(key, version)
    if answer is None:
        answer = answers.stale(key, version)  # only aged: served, and built again behind
        if answer is None:
            answer = await build()
        elif answers.start_refresh(key):
            task = asyncio.create_task(_refresh(answers, key, build))
            answers.tasks.add(task)
            task.add_done_callback(answers.tasks.discard)
    headers = {"ETag": answer.etag, "Cache-Control": "private, no-cache"}
    if etag_matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=answer.body, media_type="application/json", headers=headers)


async def _build(
    request: Request,
    answers: LiveAnswers,
    domain: Curation,
    me: PersonRecord,
    key: tuple,
    since: datetime | None,
    limit: int,
) -> LiveAnswer:
    """Rank ``me`` now (in the live ranking's threads) and keep the page's JSON."""
    made = time.monotonic()
    found = await to_thread.run_sync(
        partial(domain.digests.recommendations, me, now=utcnow(), since=since, limit=limit),
        limiter=_live_threads(request),
    )
    page = RecommendationPage(items=[recommendation_out(r) for r in found.items], note=found.note)
    return answers.put(key, found.version, page.model_dump_json().encode(), made)


async def _refresh(answers: LiveAnswers, key: tuple, build: Callable[[], Awaitable]) -> None:
    """A stale answer built again in the background; a failure leaves it to the next request."""
    try:
        await build()
    except Exception as exc:  # noqa: BLE001 - logged; the next request builds it in its turn
        log.warning("live recommendations not refreshed in the background: %s", exc)
    finally:
        answers.end_refresh(key)


@router.get("/digests")
def history(
    me: Learner,
    domain: DomainDep,
    deliveries: Deliveries,
    limit: PageLimit = 30,
    before: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    cursor: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="the `next_cursor` of the previous page (the same as `before`)",
        ),
    ] = None,
) -> DigestHistory:
    """My past digests, newest first, every one of them (pass `next_cursor` back as `cursor`
    for the next page); each is readable at `/v1/me/digests/{date}`. Each says where its e-mail
    stands (`delivery`): sent, still to be sent, or `failed` and why (a mail server that refused
    my address says so here)."""
    if before and cursor and before != cursor:
        raise InvalidInput("give cursor or before, not both")
    rows = domain.digests.history(me.id, before=before or cursor, limit=limit + 1)
    states = deliveries.of_days(me.id, [r.day for r in rows[:limit]])
    page = [
        DigestSummaryOut(
            date=r.day,
            items=r.item_count,
            window_start=r.window_start,
            window_end=r.window_end,
            delivery=delivery_out(states[r.day]) if r.day in states else None,
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return DigestHistory(digests=page, next_cursor=page[-1].date if more else None)
