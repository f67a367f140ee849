"""Checkpoints of SQLite's write-ahead log left to another thread (curation.storage.checkpoint):
an engine made with ``checkpoints=False`` never copies the log into the database file, a
:class:`WalCheckpointer` does, beside writers it never holds up, and a failed checkpoint loses
nothing and stops nothing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine

from curation.storage.checkpoint import WalCheckpointer
from curation.storage.engine import WAL_CHECKPOINT_BYTES, make_engine
from tests.helpers.db import without_log

ROW = "x" * 3000  # a few rows per 16 KiB page


def fresh(path: Path, **options: object) -> Engine:
    engine = make_engine(f"sqlite:///{path}", **options)  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    return engine


def write(engine: Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t (body) VALUES (?)", [(ROW,)] * rows)


def rows_in_the_database_file(path: Path) -> int:
    """Rows the database file alone holds, without its log: what checkpoints copied into it
    (0 before the first: then even the table is only in the log)."""
    conn = sqlite3.connect(without_log(path))
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()[0] == 0:
            return 0
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        conn.close()


def autocheckpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()


def test_an_engine_without_checkpoints_leaves_the_log_alone(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    engine = fresh(db, checkpoints=False)
    assert autocheckpoint(engine) == 0
    assert autocheckpoint(make_engine(f"sqlite:///{db}")) * 16384 == WAL_CHECKPOINT_BYTES
    rows = WAL_CHECKPOINT_BYTES // len(ROW) + 2000  # well past the size that would checkpoint
    for _ in range(4):
        write(engine, rows // 4)
    assert rows_in_the_database_file(db) == 0  # everything is still in the log
    with engine.connect() as conn:  # ... and readers find it there
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == rows // 4 * 4
    engine.dispose()

    other = tmp_path / "b.db"  # the default engine checkpoints on its own commits
    engine = fresh(other)
    for _ in range(4):
        write(engine, rows // 4)
    assert rows_in_the_database_file(other) > 0
    engine.dispose()


def test_the_checkpointer_copies_the_log_beside_a_writer_it_never_holds_up(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.db"
    # a writer that would fail at once (StoreBusy) if the checkpoints made it wait for a lock
    writer = fresh(db, checkpoints=False, busy_timeout=0.001)
    write(writer, 200)  # in the log before the checkpointer starts: its first checkpoint copies it
    written = 200
    with WalCheckpointer(f"sqlite:///{db}", every=0.005) as checkpointer:
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints < 5 and time.monotonic() < deadline:
            write(writer, 50)  # ... and these go on beside the checkpoints
            written += 50
        assert checkpointer.checkpoints >= 5
    assert checkpointer.failures == 0
    copied = rows_in_the_database_file(db)
    assert 200 <= copied <= written
    with writer.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == written
    writer.dispose()


def test_a_failed_checkpoint_is_counted_and_the_next_one_still_runs(tmp_path: Path) -> None:
    db = tmp_path / "not-a-database.db"
    db.write_bytes(b"this is not SQLite " * 512)
    with WalCheckpointer(f"sqlite:///{db}", every=0.005) as checkpointer:
        deadline = time.monotonic() + 10
        while checkpointer.failures < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
    assert checkpointer.failures >= 3 and checkpointer.checkpoints == 0
    assert db.read_bytes() == b"this is not SQLite " * 512  # nothing written to it
