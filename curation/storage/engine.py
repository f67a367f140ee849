"""Engines and migrations: the only place that knows how to connect to a database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url

from alembic import command

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"
# An item row (sanitised HTML + its text) is a few KiB: on SQLite's default 4 KiB pages most
# rows take a page of their own, a third of it empty. 16 KiB pages pack them (measured on the
# ingest bench: the database is 28 % smaller, so every commit and checkpoint writes less).
SQLITE_PAGE_SIZE = 16384


def make_engine(url: str) -> Engine:
    """An engine tuned for its backend: SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # new, empty files only
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # checkpoint every 32 MiB of WAL: fewer fsyncs in a bulk ingest
            cur.execute(f"PRAGMA wal_autocheckpoint={32 * 2**20 // SQLITE_PAGE_SIZE}")
            cur.execute("PRAGMA cache_size=-32768")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


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
