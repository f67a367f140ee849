"""Read budgets (curation.storage.budget): a SQLite read on a request engine stops once it runs
past the deadline its context set, and nothing else is ever stopped by it.

The slow read is real SQL: a recursive count that takes SQLite a few hundred milliseconds."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from curation.errors import ReadOverBudget
from curation.storage import budget
from curation.storage.budget import read_budget, reads_in_process
from curation.storage.engine import make_engine, upgrade
from tests.helpers.db import SLOW_COUNT

TOP = 3_000_000  # ~0.3–1 s of SQLite work on this machine


def count(engine, top: int = TOP) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(SLOW_COUNT, {"top": top}).scalar_one()


@pytest.fixture
def request_engine(sqlite_url: str):  # noqa: ANN201
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url, busy_timeout=1.0)  # as the API makes it
    yield engine
    engine.dispose()


def test_a_read_past_its_budget_stops_soon_after(request_engine) -> None:  # noqa: ANN001
    started = time.perf_counter()
    with read_budget(0.005), pytest.raises(ReadOverBudget):
        count(request_engine)
    took = time.perf_counter() - started
    # stopped near the deadline, not after the whole count (which the next line measures)
    started = time.perf_counter()
    assert count(request_engine) == TOP
    whole = time.perf_counter() - started
    assert took < whole / 2, (took, whole)


def test_a_read_within_its_budget_answers(request_engine) -> None:  # noqa: ANN001
    with read_budget(30.0):
        assert count(request_engine, 1000) == 1000
        with request_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM item")).scalar_one() == 0


def test_the_connection_serves_on_after_a_stopped_read(request_engine) -> None:  # noqa: ANN001
    with read_budget(0.001), pytest.raises(ReadOverBudget):
        count(request_engine)
    # the same pooled connection, outside any budget: the whole count, not stopped
    assert count(request_engine) == TOP
    assert request_engine.pool.checkedout() == 0


def test_a_budget_holds_only_in_its_own_thread(request_engine) -> None:  # noqa: ANN001
    """The API's threads share the pool with the event loop: a read in another thread while
    one context's budget is long past still runs to the end."""
    results: list[object] = []
    inside = threading.Event()
    done = threading.Event()

    def other_thread() -> None:
        inside.wait(10)
        try:
            results.append(count(request_engine))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            results.append(exc)
        done.set()

    worker = threading.Thread(target=other_thread, daemon=True)
    worker.start()
    with read_budget(0.0):  # already past: this thread's reads stop at once
        inside.set()
        with pytest.raises(ReadOverBudget):
            count(request_engine)
        assert done.wait(30), "the other thread's read did not finish"
    worker.join(5)
    assert results == [TOP]


def test_batch_engines_are_never_stopped(sqlite_url: str) -> None:
    """Ingest and batch jobs (engines without a request's busy timeout) have no budget check."""
    upgrade(sqlite_url)
    batch = make_engine(sqlite_url)
    try:
        with read_budget(0.0):
            assert count(batch, 300_000) == 300_000
    finally:
        batch.dispose()


def test_postgresql_reads_are_never_stopped(pg_url: str) -> None:
    """On PostgreSQL reads run in threads (they wait on the network): no budget applies."""
    upgrade(pg_url)
    engine = make_engine(pg_url, busy_timeout=1.0)
    try:
        assert not reads_in_process(engine)
        with read_budget(0.0):
            assert count(engine, 300_000) == 300_000
    finally:
        engine.dispose()


def test_sqlite_reads_are_in_process(request_engine) -> None:  # noqa: ANN001
    assert reads_in_process(request_engine)


def test_a_search_stopped_while_its_table_opens_is_over_budget(
    request_engine,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopped inside the set-up of the full-text table (a new connection's first search),
    SQLite says "vtable constructor failed", not "interrupted": over budget all the same."""
    monkeypatch.setattr(budget, "CHECK_EVERY", 1)  # the clock looked at every step
    search = text("SELECT rowid FROM item_fts WHERE item_fts MATCH 'octopus'")
    with read_budget(0.0), pytest.raises(ReadOverBudget), request_engine.connect() as conn:
        conn.execute(search).all()
    with request_engine.connect() as conn:  # outside the budget: the search runs
        assert conn.execute(search).all() == []
