"""Real database conditions for tests: another client holding the write lock, a read that
takes SQLite a while, a call that must answer within a bound while either lasts, and what a
SQLite file holds without its write-ahead log."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import psycopg
from sqlalchemy import make_url, text

BUSY_TIMEOUT = 1.0  # the API's wait for a lock in these tests (CURATION_API_BUSY_TIMEOUT)
BOUND = 8.0  # seconds: far below the 30 s a batch job waits, far above BUSY_TIMEOUT

#: counts to ``:top`` in SQL: real SQLite work, about a second for three million
SLOW_COUNT = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :top) "
    "SELECT count(*) FROM n"
)


@contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Another client holds the write lock on the database at ``url`` until the block ends."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(parsed.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute("LOCK TABLE person IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()


def within(seconds: float, call: Callable[[], httpx2.Response]) -> tuple[httpx2.Response, float]:
    """``call()``'s answer and how long it took; fails (without hanging) past ``seconds``."""
    answer: list[httpx2.Response] = []
    started = time.monotonic()
    worker = threading.Thread(target=lambda: answer.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert answer, f"no answer within {seconds} s while the database was locked"
    return answer[0], time.monotonic() - started


def without_log(db: Path) -> Path:
    """A copy of the SQLite file ``db`` alone, next to it, without its write-ahead log: what
    checkpoints have copied into the file so far."""
    copy = db.with_name(f"{db.stem}-without-log{db.suffix}")
    shutil.copyfile(db, copy)
    return copy
