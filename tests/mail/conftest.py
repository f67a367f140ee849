"""Fixtures of the e-mail tests: a real SMTP server in this process, and the engine of the
database each test runs on (SQLite and PostgreSQL, through ``any_store``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from curation.storage.feeds import Store
from tests.helpers.smtp import MailServer


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """A real SMTP server (aiosmtpd) in this process."""
    with MailServer() as server:
        yield server


@pytest.fixture
def engine(any_store: Store) -> Engine:
    return any_store.engine
