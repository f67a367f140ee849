"""A worker free for its next job takes delivery before the next chunk of digests, and the
insight figures last, whatever order they were queued in (PostgreSQL's queue, no worker
process). Skipped without ``CURATION_TEST_POSTGRES_URL``."""

from __future__ import annotations

import asyncio

import pytest

from curation.jobs.connector import make_app
from curation.jobs.schedule import ROUND
from curation.jobs.tasks import DELIVER, DIGESTS, INGEST, INSIGHTS, REFIT, defer
from tests.helpers.settings import make_settings

pytestmark = pytest.mark.postgres


def test_jobs_are_taken_by_priority_not_by_age(queue_url: str) -> None:
    async def scenario() -> list[str]:
        app = make_app(make_settings(queue_url), periodic=False)
        async with app.open_async():
            # queued in the order a round and a first chunk would leave them
            assert await defer(app, INSIGHTS)
            assert await defer(app, DIGESTS, first_id=0, last_id=999)
            assert await defer(app, DIGESTS, first_id=1000, last_id=1999)
            assert await defer(app, REFIT)
            assert await defer(app, INGEST, shard=0, shards=1)
            assert await defer(app, DELIVER, channel="email", lane=0)
            await app.configure_task(ROUND).defer_async(timestamp=0)
            worker = await app.job_manager.register_worker()
            taken = []
            while (job := await app.job_manager.fetch_job(None, worker_id=worker)) is not None:
                taken.append(job.task_name)
            return taken

    assert asyncio.run(scenario()) == [ROUND, DELIVER, INGEST, REFIT, DIGESTS, DIGESTS, INSIGHTS]
