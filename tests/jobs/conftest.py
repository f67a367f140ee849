"""Fixtures of the job-queue tests: a fresh PostgreSQL database with our tables and the
queue's (skipped without ``CURATION_TEST_POSTGRES_URL``), the workers' environment, and a
:class:`~tests.jobs.cluster.Cluster` of real processes stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from curation.jobs.connector import ensure_schema
from curation.storage.engine import upgrade
from tests.helpers.cli import clean_env
from tests.helpers.settings import make_settings
from tests.jobs.cluster import Cluster


@pytest.fixture
def queue_url(pg_url: str) -> str:
    """A fresh PostgreSQL database, migrated, with procrastinate's tables."""
    upgrade(pg_url)
    assert ensure_schema(make_settings(pg_url))
    return pg_url


@pytest.fixture
def cluster_env(queue_url: str, tmp_path: Path) -> dict[str, str]:
    """The workers' environment: this database, the feed-less defaults, a short heartbeat."""
    return clean_env(
        CURATION_DATABASE_URL=queue_url,
        CURATION_DEFAULT_SOURCES="-",
        CURATION_SECRET_KEY_FILE=str(tmp_path / "secret"),
        CURATION_WORKER_STALLED_SECONDS="2",
        CURATION_EMAIL_LEASE_MINUTES="1",
        CURATION_JOBS_INGEST_SHARDS="2",
        CURATION_FETCH_ALLOW_HOSTS="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )


@pytest.fixture
def cluster(queue_url: str, cluster_env: dict[str, str], tmp_path: Path) -> Iterator[Cluster]:
    logs = tmp_path / "logs"
    logs.mkdir()
    group = Cluster(queue_url, cluster_env, logs)
    try:
        yield group
    finally:
        group.stop()
