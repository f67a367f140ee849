"""The real app on a real SQLite file, with its e-mail written to a real outbox folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from curation.storage.engine import upgrade
from tests.helpers.api import Api, open_api


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Api]:
    url = f"sqlite:///{tmp_path / 'curation.db'}"
    upgrade(url)
    with open_api(url, outbox_dir=str(tmp_path / "outbox")) as api:
        yield api
