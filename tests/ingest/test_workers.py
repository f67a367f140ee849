"""Big batches run in worker processes that share the sources and commit themselves: the result
must be the same as in one process, and a worker that dies must cost nothing but time."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

import curation.ingest.workers as workers_mod
from curation.ingest.pipeline import IngestSummary, ingest
from curation.storage.checkpoint import WalCheckpointer
from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import Store
from curation.storage.tables import Item, ItemSource
from tests.helpers.cli import clean_env
from tests.helpers.db import without_log
from tests.helpers.feeds import rss, rss_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.paths import ROOT
from tests.helpers.settings import make_settings, settings_for
from tests.helpers.store import count

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def add_feeds(store: Store, server: FeedServer, n: int, per_feed: int = 5) -> None:
    for k in range(n):
        body = rss(f"W{k}", rss_items(per_feed, f"w{k}"))
        store.add_source(server.add(f"/w{k}", body=body, etag=f'"w{k}"'))


def assert_complete(
    store: Store, summary: IngestSummary, feeds: int, per_feed: int, *, killed: bool = False
) -> None:
    """Every source reported exactly once, every item stored once, the search index whole.

    With ``killed``, a worker may have committed some sources and died before reporting them:
    the parent runs those again and finds their items already stored, so the summary counts
    fewer new items than the store holds (never more, and never a lost or doubled item)."""
    assert Counter(o.source_id for o in summary.outcomes) == Counter(
        s.id for s in store.list_sources()
    )
    assert summary.count("ok") == feeds
    if killed:
        assert 0 < summary.new_items <= feeds * per_feed
    else:
        assert summary.new_items == feeds * per_feed
    assert count(store, Item) == feeds * per_feed == count(store, ItemSource)
    assert all(s.status == "ok" and s.etag for s in store.list_sources())
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO item_fts(item_fts, rank) VALUES ('integrity-check', 1)"
            )
            docs = conn.exec_driver_sql("SELECT count(*) FROM item_fts_docsize").scalar()
            assert docs == feeds * per_feed


def worker_settings(store: Store, **overrides: object):  # noqa: ANN201
    values = {"ingest_workers": 2, "ingest_pool_min_sources": 1, **overrides}
    return settings_for(store, **values)


def test_workers_share_a_batch_and_store_it_once(
    any_store: Store, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With two fetch slots per process the 40 sources are claimed over many rounds."""
    add_feeds(any_store, feed_server, 40)
    s = worker_settings(any_store, fetch_concurrency=4, fetch_per_host=4)
    with caplog.at_level(logging.INFO, logger="curation.ingest.workers"):
        summary = ingest(any_store, s, now=NOW)
    assert "40 sources shared by 2 worker processes" in caplog.text
    assert_complete(any_store, summary, 40, 5)
    again = ingest(any_store, s, now=NOW.replace(hour=20))
    assert again.count("not_modified") == 40 and again.new_items == 0


def test_a_killed_worker_loses_nothing(
    store: Store, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Both workers are killed while one waits for a slow feed; the parent runs whatever they
    had not reported, and every source ends up stored exactly once."""
    add_feeds(store, feed_server, 12)
    slow = feed_server.add("/slow", body=rss("Slow", rss_items(5, "slow")), etag='"s"', delay=1.0)
    store.add_source(slow)
    s = worker_settings(store)
    result: list[IngestSummary] = []
    runner = threading.Thread(target=lambda: result.append(ingest(store, s, now=NOW)))

    with caplog.at_level(logging.INFO, logger="curation.ingest"):
        runner.start()
        deadline = time.monotonic() + 30
        while not feed_server.hits("/slow") and time.monotonic() < deadline:
            time.sleep(0.01)
        workers = [p for p in multiprocessing.active_children() if "curation-ingest" in p.name]
        assert feed_server.hits("/slow") and workers
        for process in workers:
            with contextlib.suppress(ProcessLookupError):  # one may have finished by now
                os.kill(process.pid, signal.SIGKILL)
        runner.join(60)

    assert not runner.is_alive() and result
    assert "running them here" in caplog.text and "exited with code -9" in caplog.text
    assert len(feed_server.hits("/slow")) == 2  # once in the dead worker, once in the parent
    assert_complete(store, result[0], 13, 5, killed=True)


def test_workers_leave_checkpoints_to_the_parent(
    store: Store, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the workers' commits never copy the log into the database file (their turns
    would wait for it): the parent's checkpointer does, while the workers run."""
    monkeypatch.setitem(WalCheckpointer.__init__.__kwdefaults__, "every", 0.01)
    add_feeds(store, feed_server, 12)
    slow = feed_server.add("/slow", body=rss("Slow", rss_items(5, "slow")), etag='"s"', delay=1.5)
    store.add_source(slow)
    db = Path(store.engine.url.database or "")
    summary = ingest(store, worker_settings(store), now=NOW)
    assert_complete(store, summary, 13, 5)
    # the fast feeds were committed long before the slow one came: by then the parent had
    # copied them into the database file, which a copy of that file alone shows
    alone = Store(make_engine(f"sqlite:///{without_log(db)}"))
    assert count(alone, Item) >= 12 * 5
    alone.engine.dispose()


def test_a_write_turn_never_given_back_only_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that died holding the turn cannot stall the others: after _TURN_WAIT they
    write anyway (SQLite's own locking keeps that correct), and never release what they lack."""
    monkeypatch.setattr(workers_mod, "_TURN_WAIT", 0.05)
    lock = multiprocessing.get_context("spawn").Lock()
    assert lock.acquire()  # held by "someone else", forever
    turn = workers_mod._WriteTurn(lock)
    assert turn.take(wait=False) is False
    assert turn.take(wait=True) is True
    turn.give_back()  # must not release the lock it never got
    assert lock.acquire(block=False) is False
    lock.release()
    assert turn.take(wait=False) is True
    turn.give_back()
    assert lock.acquire(block=False) is True


def test_forked_workers_in_a_single_threaded_process(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The command line is single-threaded, so its workers are forked: run a cycle in a fresh
    interpreter and check what it stored."""
    url = f"sqlite:///{tmp_path / 'fork.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    add_feeds(store, feed_server, 20)
    script = textwrap.dedent(
        """
        import logging, sys
        from datetime import UTC, datetime
        from curation.storage.engine import make_engine
        from curation.ingest.pipeline import ingest
        from curation.settings import Settings
        from curation.storage.feeds import Store
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        s = Settings(database_url=sys.argv[1], fetch_allow_hosts="127.0.0.1",
                     ingest_workers=2, ingest_pool_min_sources=1)
        summary = ingest(Store(make_engine(s.database_url)), s,
                         now=datetime(2026, 11, 29, 8, tzinfo=UTC))
        print(summary.count("ok"), summary.new_items)
        """
    )
    env = clean_env()
    done = subprocess.run(
        [sys.executable, "-c", script, url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["20", "100"]
    assert "20 sources shared by 2 worker processes (fork)" in done.stderr
    assert count(store, Item) == 100 == count(store, ItemSource)


@pytest.mark.parametrize(
    ("url", "sources", "workers", "per_host"),
    [
        ("sqlite:///{tmp}/x.db", 100, 2, 4),
        ("sqlite:///{tmp}/x.db", 100, 0, 1),  # two workers could hit one host twice at once
        ("sqlite:///{tmp}/x.db", 5, 0, 4),  # below ingest_pool_min_sources
        ("sqlite://", 100, 0, 4),  # in memory: other processes would see another database
        ("sqlite:///:memory:", 100, 0, 4),
        ("sqlite:///file:x?mode=memory&cache=shared&uri=true", 100, 0, 4),
    ],
)
def test_when_workers_are_used(
    tmp_path: Path, url: str, sources: int, workers: int, per_host: int
) -> None:
    engine = create_engine(url.format(tmp=tmp_path), poolclass=NullPool)  # never connects
    settings = make_settings(
        str(engine.url), ingest_workers=2, ingest_pool_min_sources=20, fetch_per_host=per_host
    )
    assert workers_mod.worker_count(settings, Store(engine), sources) == workers


def test_workers_start_by_spawn_where_fork_is_missing(
    store: Store, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where neither fork nor a fork server exists (Windows), workers are spawned: slower to
    start, same result."""
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert workers_mod._process_context().get_start_method() == "spawn"
    add_feeds(store, feed_server, 6)
    summary = ingest(store, worker_settings(store), now=NOW)
    assert_complete(store, summary, 6, 5)
