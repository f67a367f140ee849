"""A round of periodic work: what to enqueue, and when (every minute, or on demand).

:func:`enqueue_round` enqueues one ingest job per shard of sources, one digest job per range
of person ids, ``CURATION_JOBS_DELIVERY_LANES`` delivery jobs per channel and one job that
recomputes the curators' insight figures when they are old (cheap otherwise); the queueing
locks (:func:`tasks.defer`) make it safe for any number of schedulers to call it at once.
The ranges are aligned on multiples of ``CURATION_JOBS_PEOPLE_PER_CHUNK`` so a round names the
same chunks as the one before.
A chunk job looks at each of its people and builds only the digests that are due, so asking
every minute costs one cheap query per chunk when nothing is due.

:func:`register` makes the round a procrastinate *periodic* task: every running worker's
deferrer offers it each minute and procrastinate records one job per minute, whoever offers it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from procrastinate import App, JobContext

from curation.jobs import tasks
from curation.services import Curation

ROUND = "curation.round"
EVERY_MINUTE = "* * * * *"
ROUND_PRIORITY = 40  # cheap, and it enqueues everything else: before any other job


@dataclass(frozen=True, slots=True)
class RoundReport:
    ingest: int  # jobs enqueued (those already waiting are not counted)
    digests: int
    deliver: int
    insights: int = 0

    def line(self) -> str:
        return (
            f"enqueued {self.ingest} ingest, {self.digests} digest, {self.deliver} delivery"
            f" and {self.insights} insight jobs (work already waiting is not enqueued twice)"
        )


def chunks(id_range: tuple[int, int] | None, size: int) -> list[tuple[int, int]]:
    """Ranges of ``size`` ids, aligned on multiples of ``size``, covering ``id_range``."""
    if id_range is None:
        return []
    low, high = id_range
    first = (low // size) * size
    return [(start, start + size - 1) for start in range(first, high + 1, size)]


async def enqueue_round(app: App, curation: Curation) -> RoundReport:
    settings = curation.settings
    shards = settings.jobs_ingest_shards
    ingest = 0
    for shard in range(shards):
        ingest += await tasks.defer(app, tasks.INGEST, shard=shard, shards=shards)
    id_range = await asyncio.to_thread(curation.people.id_range)
    digests = 0
    for first_id, last_id in chunks(id_range, settings.jobs_people_per_chunk):
        digests += await tasks.defer(app, tasks.DIGESTS, first_id=first_id, last_id=last_id)
    deliver = await tasks.defer_deliveries(app, settings.jobs_delivery_lanes)
    insights = await tasks.defer(app, tasks.INSIGHTS)
    return RoundReport(ingest, digests, deliver, insights)


async def round_task(context: JobContext, timestamp: int) -> str:
    """The periodic round (``timestamp``: the minute procrastinate deferred it for)."""
    return (await enqueue_round(context.app, tasks.services(context))).line()


def register(app: App, *, periodic: bool = True) -> None:
    task = app.task(
        name=ROUND,
        queue="schedule",
        pass_context=True,
        queueing_lock=ROUND,
        priority=ROUND_PRIORITY,
    )(round_task)
    if periodic:
        app.periodic(cron=EVERY_MINUTE, periodic_id="round")(task)
