"""Shared fixtures: a real local feed server, a real SMTP server, settings on a temporary SQLite
file, an optional real PostgreSQL (``CURATION_TEST_POSTGRES_URL``; tests using it skip when it
is unset), and the environment for the command line.

Helpers that are not fixtures live in ``tests/helpers/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from curation.settings import Settings
from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import Store
from curation.storage.scratch import scratch_database
from tests.helpers.api import Api, open_api
from tests.helpers.cli import clean_env
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import db_url, make_settings
from tests.helpers.smtp import MailServer

if TYPE_CHECKING:
    from tests.helpers.api import Api

PG_ENV = "CURATION_TEST_POSTGRES_URL"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """A real SMTP server (aiosmtpd) in this process (tests/helpers/smtp.py)."""
    with MailServer() as server:
        yield server


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
    with scratch_database(base, prefix) as url:
        yield url


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


@pytest.fixture
def engine(any_store: Store) -> Engine:
    """The engine of ``any_store`` (SQLite and PostgreSQL)."""
    return any_store.engine


@pytest.fixture
def api(any_store: Store) -> Iterator[Api]:
    """The real app over the database of ``any_store`` (tests/helpers/api.py)."""
    from tests.helpers.api import open_api

    with open_api(db_url(any_store)) as api:
        yield api
    any_store.engine.dispose()


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


# ---- the command line as a subprocess (tests/cli/, tests/ingest/test_sources.py) -----------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment for a `curation` subprocess: no CURATION_* from outside, its own SQLite
    file, fetches allowed to loopback."""
    return clean_env(
        CURATION_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        CURATION_FETCH_ALLOW_HOSTS="127.0.0.1",
    )


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Api]:
    """The real app on a real SQLite file, with its e-mail written to a real outbox folder
    (the web pages' tests, and the portfolio's through the pages)."""
    url = f"sqlite:///{tmp_path / 'curation.db'}"
    upgrade(url)
    with open_api(url, outbox_dir=str(tmp_path / "outbox")) as api:
        yield api
