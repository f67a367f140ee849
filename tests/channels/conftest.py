"""Fixtures of the channel tests: a real webhook receiver on loopback (the SMTP server and the
engine of ``any_store`` are in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.hookserver import HookServer


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    with HookServer() as server:
        yield server
