"""Migrations run on SQLite and PostgreSQL, and the models have not drifted from them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from curation.storage.engine import SQLITE_PAGE_SIZE, make_engine, upgrade
from curation.storage.migration_filters import include_name, include_object
from curation.storage.tables import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_upgrade_head_creates_tables_and_no_drift(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    assert {"source", "item", "item_source", "alembic_version"} <= tables
    with engine.connect() as conn:
        opts = {"compare_type": True, "render_as_batch": True}
        opts |= {"include_name": include_name, "include_object": include_object}
        ctx = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_is_idempotent_and_downgrade_works(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # a second run is a no-op
    from alembic import command
    from curation.storage.engine import alembic_config

    command.downgrade(alembic_config(db_url), "base")
    engine = make_engine(db_url)
    assert "source" not in inspect(engine).get_table_names()
    upgrade(db_url)
    assert "source" in inspect(make_engine(db_url)).get_table_names()


def test_new_sqlite_files_get_large_pages_and_wal_existing_ones_are_left_alone(
    tmp_path: Path,
) -> None:
    fresh = tmp_path / "sub" / "fresh.db"
    upgrade(f"sqlite:///{fresh}")
    with sqlite3.connect(fresh) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == SQLITE_PAGE_SIZE
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    old = tmp_path / "old.db"  # made elsewhere with the 4 KiB default: upgraded, not rebuilt
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    upgrade(f"sqlite:///{old}")
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert conn.execute("SELECT count(*) FROM unrelated").fetchone()[0] == 0
