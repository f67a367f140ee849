"""Shared fixtures: a real local feed server, settings on a temporary SQLite file, and an
optional real PostgreSQL (``CURATION_TEST_POSTGRES_URL``; tests using it skip when it is unset)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, text

from curation.settings import Settings
from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import Store
from tests.feedserver import FeedServer

if TYPE_CHECKING:
    from tests.test_mail_support import MailServer

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PG_ENV = "CURATION_TEST_POSTGRES_URL"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "fetch_allow_hosts": "127.0.0.1,::1",
        "fetch_connect_timeout": 2.0,
        "fetch_read_timeout": 2.0,
        "fetch_total_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'curation.db'}"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url)


@pytest.fixture
def store(settings: Settings) -> Store:
    upgrade(settings.database_url)
    return Store(make_engine(settings.database_url))


@contextmanager
def _pg_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, yield its URL, drop it afterwards; skip the
    test when no server is configured."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests need a server (see README)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    with _pg_database("curation_t") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, sqlite_url: str) -> Store:
    """The same test on the embedded default and on PostgreSQL."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    upgrade(url)
    return Store(make_engine(url))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database shared by the tests of one module (for tests that only add data)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'curation.db'}"
        upgrade(url)
        yield url
        return
    with _pg_database("curation_m") as url:
        upgrade(url)
        yield url


# ---- e-mail tests (test_mail_*.py) ---------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """A real SMTP server (aiosmtpd) in this process."""
    from tests.test_mail_support import MailServer

    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def engine(any_store: Store) -> Engine:
    return any_store.engine
