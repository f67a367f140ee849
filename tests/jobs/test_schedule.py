"""The pieces of a round without the queue: person-id chunks aligned so that every round names
the same jobs, ingest shards that split the sources, and the refusal of the queue on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

from procrastinate import App
from procrastinate.testing import InMemoryConnector

from curation.ingest.pipeline import ingest_async
from curation.jobs import tasks
from curation.jobs.schedule import chunks
from curation.jobs.tasks import DELIVER, job_key
from curation.settings import Settings
from curation.storage.feeds import Store
from tests.helpers.cli import clean_env, run
from tests.helpers.feeds import rss, rss_items
from tests.helpers.feedserver import FeedServer


def test_chunks_are_aligned_on_their_size_and_cover_every_id() -> None:
    assert chunks(None, 10) == []
    assert chunks((1, 1), 10) == [(0, 9)]
    assert chunks((7, 31), 10) == [(0, 9), (10, 19), (20, 29), (30, 39)]
    # a new person (id 40) adds a chunk and leaves the others' names as they were
    assert chunks((7, 40), 10) == [*chunks((7, 31), 10), (40, 49)]
    assert chunks((2001, 2001), 2000) == [(2000, 3999)]


def test_a_job_key_names_the_task_and_its_arguments() -> None:
    assert job_key(DELIVER, channel="email", lane=1) == "curation.deliver:email:1"


def test_worker_on_sqlite_says_it_needs_postgresql(tmp_path: Path) -> None:
    env = clean_env(CURATION_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    for args in (["worker"], ["jobs", "enqueue"]):
        done = run(args, env, check=False)
        assert done.returncode == 1
        assert "jobs need PostgreSQL" in done.stderr
        assert "curation run" in done.stderr


def test_an_ingest_shard_fetches_only_its_own_sources(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    ids = [
        store.add_source(feed_server.add(f"/f{n}", body=rss(f"F{n}", rss_items(2, f"f{n}")))).id
        for n in range(5)
    ]
    odd = asyncio.run(ingest_async(store, settings, shard=(1, 2)))
    assert sorted(o.source_id for o in odd.outcomes) == [i for i in ids if i % 2 == 1]
    assert {n for n in range(5) if feed_server.hits(f"/f{n}")} == {
        n for n, i in enumerate(ids) if i % 2 == 1
    }
    even = asyncio.run(ingest_async(store, settings, shard=(0, 2)))
    assert sorted(o.source_id for o in even.outcomes) == [i for i in ids if i % 2 == 0]


def test_email_and_each_chat_kind_have_delivery_lanes_of_their_own() -> None:
    connector = InMemoryConnector()
    app = App(connector=connector)
    tasks.register(app)

    async def defer_twice() -> tuple[int, int]:
        async with app.open_async():
            return await tasks.defer_deliveries(app, 2), await tasks.defer_deliveries(app, 2)

    assert asyncio.run(defer_twice()) == (6, 0)  # the second round adds nothing: queueing locks
    assert sorted(job["queueing_lock"] for job in connector.jobs.values()) == [
        f"curation.deliver:{channel}:{lane}"
        for channel in ("email", "slack", "teams")
        for lane in (0, 1)
    ]
    assert job_key(DELIVER, channel="slack", lane=0) == "curation.deliver:slack:0"
