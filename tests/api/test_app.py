"""The HTTP edge as it stands: health and the problem+json error shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from curation.settings import Settings
from curation.storage.feeds import Store


def test_healthz_and_problem_json(settings: Settings, store: Store) -> None:
    # ``store`` migrates the database: a database without the schema is not served (503)
    client = TestClient(create_app(settings))
    assert client.get("/healthz").json() == {"status": "ok"}
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["status"] == 404
