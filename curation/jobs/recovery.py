"""Jobs whose worker died go back in the queue.

A worker records a heartbeat every third of ``CURATION_WORKER_STALLED_SECONDS``. A job still
``doing`` whose worker has not beaten for that long (killed, machine lost) is *stalled*:
:func:`retry_stalled` puts it back to ``todo`` and another worker runs it again from the start.
Every ``curation worker`` does that when it starts and then every half of that period, so a
killed job is retried within about 1.5 × the setting while any worker is alive.

A stalled job cannot go back to ``todo`` when the same work (same task, same arguments: the
same queueing lock) is already waiting there, put by a scheduler's later round: it is then
finished as ``aborted`` instead, which also frees its lock, so the waiting copy runs. Left
``doing``, it would hold that lock for ever and stop every later copy of its work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from procrastinate import App
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status

log = logging.getLogger(__name__)


async def retry_stalled(app: App, seconds: float) -> int:
    """Put back every job of a worker silent for ``seconds``; how many were put back."""
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds)
    count = 0
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except UniqueViolation:  # the same work waits in the queue already: that copy runs
            if await _abort(app, job.id):
                count += 1
                log.warning(
                    "job %s (%s) of a dead worker aborted: the same work waits in the queue",
                    job.id,
                    job.task_name,
                )
            continue
        except Exception as exc:  # another worker put it back first, or it just finished
            log.info("stalled job %s (%s) not retried here: %r", job.id, job.task_name, exc)
            continue
        count += 1
        log.warning("job %s (%s) of a dead worker put back in the queue", job.id, job.task_name)
    return count


async def _abort(app: App, job_id: int) -> bool:
    try:
        await app.job_manager.finish_job_by_id_async(job_id, Status.ABORTED, delete_job=False)
    except Exception as exc:  # another worker dealt with it first
        log.info("stalled job %s not aborted here: %r", job_id, exc)
        return False
    return True


async def recover_forever(app: App, seconds: float, stop: asyncio.Event) -> None:
    """:func:`retry_stalled` now and every ``seconds / 2`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            await retry_stalled(app, seconds)
        except Exception:
            log.exception("looking for stalled jobs failed; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds / 2)
