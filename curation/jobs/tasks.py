"""The jobs: each one stage of the flow over one slice of the work.

Every body calls the same code as the embedded scheduler (:func:`ingest_async`,
:meth:`Curation.refit`, :meth:`DigestService.build_due`, :func:`deliver_pending`,
:func:`deliver_channels`): there is one copy of each job. Every job may run twice, or die
half-way and run again, without loss or duplicate: a digest is recorded once per (person,
local date) by a unique constraint, and an e-mail or a chat post is claimed row by row before it
is sent.

A job finds the services of its process (:class:`Curation`, built once by ``curation worker``)
in its context; what it is given travels as JSON in the queue (shard numbers, id ranges).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from procrastinate import App, JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from curation.channels.deliver import deliver_channels
from curation.clock import utcnow
from curation.ingest.pipeline import ingest_async
from curation.mail.deliver import deliver_pending
from curation.services import Curation
from curation.storage.channels import WEBHOOK_KINDS

log = logging.getLogger(__name__)

INGEST = "curation.ingest_shard"
REFIT = "curation.refit"
DIGESTS = "curation.build_digests"
DELIVER = "curation.deliver"
INSIGHTS = "curation.refresh_insights"
#: the delivery channels, each with ``CURATION_JOBS_DELIVERY_LANES`` lanes of its own in the
#: queue (``curation.deliver:email:0``, ``curation.deliver:slack:0``, …): e-mail and chat never
#: wait on each other, and a slow Slack does not hold up Teams
CHAT_CHANNELS = WEBHOOK_KINDS
CHANNELS = ("email", *CHAT_CHANNELS)

#: a job that raised is tried again after 7, 9, 13 and 21 s (5 + 2**n; 5 tries in all); a job
#: whose worker died is put back by :mod:`curation.jobs.recovery`
RETRY = RetryStrategy(max_attempts=5, wait=5, exponential_wait=2)


def services(context: JobContext) -> Curation:
    return context.additional_context["curation"]


def job_key(task_name: str, **kwargs: object) -> str:
    """The name of one piece of work: the task and its arguments (``curation.deliver:email:0``)."""
    return ":".join([task_name, *(str(v) for v in kwargs.values())])


async def defer(app: App, task_name: str, **kwargs: Any) -> bool:
    """Enqueue a job unless the same one is already waiting; True when it was enqueued.

    The job's key is its *queueing lock* (at most one copy waiting: a second scheduler, or a
    second ingest asking for a refit, adds nothing) and its *lock* (never two copies running)."""
    key = job_key(task_name, **kwargs)
    deferrer = app.configure_task(task_name, lock=key, queueing_lock=key)
    try:
        await deferrer.defer_async(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


async def ingest_shard(context: JobContext, shard: int, shards: int) -> dict[str, int]:
    """Ingest the due sources whose id is ``shard`` modulo ``shards``; ask for a refit after
    new items."""
    curation = services(context)
    summary = await ingest_async(curation.store, curation.settings, shard=(shard, shards))
    if summary.new_items:
        await defer(context.app, REFIT)
    return {"sources": len(summary.outcomes), "new_items": summary.new_items}


async def refit(context: JobContext) -> bool:
    """Fit the ranking model on the recent window (workers load the new one on next use)."""
    return await asyncio.to_thread(services(context).refit)


async def refresh_insights(context: JobContext) -> list[str]:
    """Recompute the curators' insight figures that are at least the cache time old, and store
    them for every API process (:meth:`InsightService.refresh`); the names recomputed."""
    return await asyncio.to_thread(services(context).insights.refresh)


async def build_digests(context: JobContext, first_id: int, last_id: int) -> int:
    """Build the digests due now of the people with ids ``first_id``…``last_id``; then ask for
    their delivery."""
    curation = services(context)
    ids = list(range(first_id, last_id + 1))
    built = await asyncio.to_thread(curation.digests.build_due, utcnow(), person_ids=ids)
    if built:
        log.info("digests %d-%d: %d built", first_id, last_id, len(built))
        await defer_deliveries(context.app, curation.settings.jobs_delivery_lanes)
    return len(built)


async def defer_deliveries(app: App, lanes: int) -> int:
    """One delivery job per channel and lane; how many were enqueued."""
    count = 0
    for channel in CHANNELS:
        for lane in range(lanes):
            count += await defer(app, DELIVER, channel=channel, lane=lane)
    return count


async def deliver(context: JobContext, channel: str, lane: int = 0) -> str:
    """Send every recorded digest due on ``channel`` (``email``, or the webhook posts of one
    chat kind). ``CURATION_JOBS_DELIVERY_LANES`` lanes per channel run at once, on any
    workers: each message is claimed before it is sent, so the lanes of a channel share its due
    messages between them and none is sent twice. E-mail lanes each take their own share (id
    modulo the number of lanes), so they do not race for the same rows."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown delivery channel {channel!r}")
    curation = services(context)
    if channel in CHAT_CHANNELS:  # a chat lane: the webhook posts of that kind only
        chat = await asyncio.to_thread(
            deliver_channels, curation.engine, curation.settings, kinds=(channel,)
        )
        return chat.line()
    lanes = curation.settings.jobs_delivery_lanes
    report = await asyncio.to_thread(
        deliver_pending, curation.engine, curation.settings, shard=(lane % lanes, lanes)
    )
    return report.line()


#: a worker free for its next job takes the highest priority first: messages of digests already
#: built go out before the next chunk of people is built (the daily batch is a pipeline, the
#: first e-mails leave while later digests are still being built), and the insight figures,
#: which nobody waits for, come last
PRIORITY = {DELIVER: 30, INGEST: 20, REFIT: 10, DIGESTS: 0, INSIGHTS: -10}


def register(app: App) -> None:
    """Register every job on ``app`` under its name, each on its own queue and priority."""
    for name, body, queue in (
        (INGEST, ingest_shard, "ingest"),
        (REFIT, refit, "rank"),
        (INSIGHTS, refresh_insights, "rank"),
        (DIGESTS, build_digests, "digests"),
        (DELIVER, deliver, "deliver"),
    ):
        app.task(name=name, queue=queue, pass_context=True, retry=RETRY, priority=PRIORITY[name])(
            body
        )
