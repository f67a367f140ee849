"""One worker process: runs jobs from the queue until SIGTERM/SIGINT, and recovers the jobs of
dead workers (:mod:`curation.jobs.recovery`) meanwhile.

Start as many as the work needs, on as many machines, all pointed at the same database.
procrastinate stops a worker gracefully on the first SIGTERM/SIGINT (the running jobs finish)
and at once on the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from curation.jobs.connector import make_app
from curation.jobs.recovery import recover_forever
from curation.jobs.schedule import RoundReport, enqueue_round
from curation.services import Curation

log = logging.getLogger(__name__)


async def run_worker(
    curation: Curation,
    *,
    queues: Sequence[str] | None = None,
    concurrency: int = 1,
    periodic: bool = True,
    name: str | None = None,
) -> None:
    stalled = curation.settings.worker_stalled_seconds
    app = make_app(curation.settings, periodic=periodic)
    async with app.open_async():
        stop = asyncio.Event()
        recovery = asyncio.create_task(recover_forever(app, stalled, stop))
        try:
            await app.run_worker_async(
                queues=list(queues) if queues else None,
                concurrency=concurrency,
                name=name,
                additional_context={"curation": curation},
                update_heartbeat_interval=stalled / 3,
                stalled_worker_timeout=stalled,
                delete_jobs="successful",
            )
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery


async def enqueue_now(curation: Curation) -> RoundReport:
    """One round enqueued now (``curation jobs enqueue``), whatever the periodic one does."""
    app = make_app(curation.settings, periodic=False)
    async with app.open_async():
        return await enqueue_round(app, curation)
