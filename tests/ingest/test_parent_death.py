"""Ingest workers do not outlive a parent killed with SIGKILL, and write nothing after it.

A real parent process runs an ingest cycle shared by worker processes, against feeds that
answer only when the test lets them; the parent is killed while the workers wait for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from curation.storage.feeds import Store
from curation.storage.tables import Item
from tests.helpers.cli import clean_env
from tests.helpers.feeds import rss, rss_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import db_url
from tests.helpers.store import count

PARENT = textwrap.dedent(
    """
    import sys, threading, time
    from curation.ingest.pipeline import ingest
    from curation.settings import get_settings
    from curation.storage.engine import make_engine
    from curation.storage.feeds import Store

    if sys.argv[1] == "forkserver":  # a second thread: the workers come from a fork server
        threading.Thread(target=time.sleep, args=(120,), daemon=True).start()
    settings = get_settings()
    ingest(Store(make_engine(settings.database_url)), settings)
    """
)


def _descendants(pid: int) -> set[int]:
    """Live (non-zombie) processes below ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_workers_exit_when_their_parent_is_killed_and_write_nothing_after(
    any_store: Store, feed_server: FeedServer, tmp_path: Path, start: str
) -> None:
    gate = threading.Event()  # the feeds answer only once this is set
    for n in range(6):
        url = feed_server.add(f"/f{n}", body=rss(f"F{n}", rss_items(3, f"f{n}")), gate=gate)
        any_store.add_source(url)
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = clean_env(
        CURATION_DATABASE_URL=db_url(any_store),
        CURATION_FETCH_ALLOW_HOSTS="127.0.0.1",
        CURATION_INGEST_WORKERS="2",
        CURATION_INGEST_POOL_MIN_SOURCES="2",
        CURATION_FETCH_PER_HOST="4",
        CURATION_FETCH_READ_TIMEOUT="60",
        CURATION_FETCH_HEADERS_TIMEOUT="60",
        CURATION_FETCH_TOTAL_TIMEOUT="60",
    )
    parent = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(script), start], env=env, cwd=Path.cwd()
    )
    try:
        deadline = time.monotonic() + 30
        while len(feed_server.requests) < 2 and time.monotonic() < deadline:
            assert parent.poll() is None, "the parent ended early"
            time.sleep(0.05)
        assert len(feed_server.requests) >= 2, "the workers never fetched"
        workers = _descendants(parent.pid)
        assert workers, "no worker processes"

        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(workers), "workers outlived their parent"
    finally:
        gate.set()  # the feeds answer now: a worker still alive would store them
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
    time.sleep(1.0)
    assert count(any_store, Item) == 0
    assert all(s.last_fetched_at is None for s in any_store.list_sources())
