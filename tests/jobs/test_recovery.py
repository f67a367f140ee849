"""Jobs of dead workers, on PostgreSQL's queue without worker processes: a stalled job goes back
to ``todo``, or — when a later round has already queued the same work — is aborted so that the
waiting copy is free to run. Skipped without ``CURATION_TEST_POSTGRES_URL``."""

from __future__ import annotations

import asyncio

import pytest
from procrastinate import App

from curation.jobs.connector import make_app
from curation.jobs.recovery import retry_stalled
from curation.jobs.tasks import DELIVER, defer
from tests.helpers.settings import make_settings
from tests.jobs.cluster import Cluster

pytestmark = pytest.mark.postgres

STALLED_SECONDS = 2


async def _claim_and_die(app: App, cluster: Cluster) -> int:
    """A worker takes the e-mail lane 0's job and then stops beating: the job's id."""
    assert await defer(app, DELIVER, channel="email", lane=0)
    worker = await app.job_manager.register_worker()
    job = await app.job_manager.fetch_job(queues=["deliver"], worker_id=worker)
    assert job is not None and job.id is not None
    cluster.query(
        "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
        " WHERE id = %s RETURNING id",
        worker,
    )
    return job.id


def _status(cluster: Cluster, job_id: int) -> str:
    return str(cluster.scalar("SELECT status FROM procrastinate_jobs WHERE id = %s", job_id))


def test_a_stalled_job_goes_back_to_the_queue(cluster: Cluster) -> None:
    async def scenario() -> tuple[int, int, bool]:
        app = make_app(make_settings(cluster.url), periodic=False)
        async with app.open_async():
            dead = await _claim_and_die(app, cluster)
            put_back = await retry_stalled(app, STALLED_SECONDS)
            again = await app.job_manager.fetch_job(
                queues=["deliver"], worker_id=await app.job_manager.register_worker()
            )
            return dead, put_back, again is not None and again.id == dead

    dead, put_back, refetched = asyncio.run(scenario())
    assert put_back == 1
    assert refetched, "the job put back was not given to the next worker"
    assert _status(cluster, dead) == "doing"  # now the live worker's


def test_a_stalled_job_whose_work_waits_in_the_queue_is_aborted_and_frees_its_lock(
    cluster: Cluster,
) -> None:
    async def scenario() -> tuple[int, int, int | None]:
        app = make_app(make_settings(cluster.url), periodic=False)
        async with app.open_async():
            dead = await _claim_and_die(app, cluster)
            # a later round queues the same lane again while the dead job is still "doing"
            assert await defer(app, DELIVER, channel="email", lane=0)
            put_back = await retry_stalled(app, STALLED_SECONDS)
            live = await app.job_manager.register_worker()
            waiting = await app.job_manager.fetch_job(queues=["deliver"], worker_id=live)
            return dead, put_back, None if waiting is None else waiting.id

    dead, dealt_with, waiting = asyncio.run(scenario())
    assert dealt_with == 1
    assert _status(cluster, dead) == "aborted"
    # the copy that was waiting runs now: the dead job no longer holds the lane's lock
    assert waiting is not None and waiting != dead
    assert _status(cluster, waiting) == "doing"
    assert cluster.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'") == 0
