"""Engines and migrations: the only place that knows how to connect to a database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url

from alembic import command
from curation.errors import StoreBusy
from curation.storage import budget

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"
# An item row (sanitised HTML + its text) is a few KiB: on SQLite's default 4 KiB pages most
# rows take a page of their own, a third of it empty. 16 KiB pages pack them (measured on the
# ingest bench: the database is 28 % smaller, so every commit and checkpoint writes less).
SQLITE_PAGE_SIZE = 16384
#: how much write-ahead log SQLite lets grow before copying it into the database file (a
#: checkpoint): every 32 MiB, fewer fsyncs in a bulk ingest
WAL_CHECKPOINT_BYTES = 32 * 2**20


def make_engine(url: str, *, busy_timeout: float | None = None, checkpoints: bool = True) -> Engine:
    """An engine tuned for its backend: SQLite gets WAL, foreign keys and a busy timeout.

    ``busy_timeout`` (seconds) is for request handling: a statement that waits longer than this
    for a lock another writer holds (SQLite's busy timeout, PostgreSQL's ``lock_timeout``) fails
    with :class:`~curation.errors.StoreBusy` instead of a driver error. None (batch jobs,
    ingest): wait up to 30 s on SQLite and as long as it takes on PostgreSQL, as before.

    ``checkpoints=False`` (SQLite): this engine's commits never checkpoint the write-ahead log;
    another process's :class:`~curation.storage.checkpoint.WalCheckpointer` does (ingest worker
    processes, whose writes take turns, leave it to the process that started them).
    """
    if url.startswith("sqlite"):
        seconds = 30.0 if busy_timeout is None else busy_timeout
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": seconds})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # new, empty files only
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
            pages = WAL_CHECKPOINT_BYTES // SQLITE_PAGE_SIZE if checkpoints else 0
            cur.execute(f"PRAGMA wal_autocheckpoint={pages}")
            cur.execute("PRAGMA cache_size=-32768")
            if busy_timeout is None:  # batch jobs and ingest
                # statement journals in memory, not in temporary files: a statement that may
                # fail half-way (a conflict, a trigger that writes) journals each page it
                # changes (measured with 0018's per-link count trigger: 12 writes per link row)
                cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

    elif busy_timeout is None:
        return create_engine(url, pool_pre_ping=True)
    else:
        options = f"-c lock_timeout={int(busy_timeout * 1000)}"
        engine = create_engine(url, pool_pre_ping=True, connect_args={"options": options})
    if busy_timeout is not None:
        _raise_store_busy(engine, busy_timeout)
        if budget.reads_in_process(engine):
            budget.install(engine)  # reads the API answers on its event loop (app.inline)
    return engine


#: how long a client is told to wait after a 503 for a busy database (``Retry-After``)
BUSY_RETRY_AFTER = 2


def is_lock_wait_failure(exc: BaseException) -> bool:
    """A driver error that means "another writer holds the lock" (not a broken database)."""
    if getattr(exc, "sqlstate", None) == "55P03":  # PostgreSQL: lock_not_available
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return (
            "database is locked" in text
            or "database table is locked" in text
            or ("database is busy" in text)
        )
    return False


def _raise_store_busy(engine: Engine, seconds: float) -> None:
    @event.listens_for(engine, "handle_error")
    def _busy(context) -> None:  # noqa: ANN001 - sqlalchemy.engine.ExceptionContext
        if is_lock_wait_failure(context.original_exception):
            raise StoreBusy(
                f"the database is busy with another writer (waited {seconds:g} s); try again"
                f" in {BUSY_RETRY_AFTER} s",
                retry_after=BUSY_RETRY_AFTER,
            ) from context.original_exception


def param_marker(engine: Engine) -> str:
    """The bound-parameter marker of ``engine``'s driver, for SQL written by hand on hot paths."""
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def alembic_config(url: str) -> Config:
    cfg = Config(str(ALEMBIC_DIR.parent / "alembic.ini"))
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating it when it is a new SQLite file)."""
    _create_sqlite_file(url)
    command.upgrade(alembic_config(url), revision)


def _create_sqlite_file(url: str) -> None:
    """Create a new SQLite file with our page size, in WAL mode (both are fixed at creation)."""
    if not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() and path.stat().st_size > 0:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
