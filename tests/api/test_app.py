"""The HTTP edge as it stands: health and the problem+json error shape."""

from __future__ import annotations

from anyio import to_thread
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


def test_an_api_process_works_on_at_most_api_threads_requests_at_once(
    settings: Settings, store: Store
) -> None:
    """The synchronous endpoints' threads are limited to CURATION_API_THREADS (anyio's default
    would let 40 fight over the interpreter and the database file)."""
    for threads in (1, 3):
        app = create_app(settings.model_copy(update={"api_threads": threads}))
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            limiter = client.portal.call(to_thread.current_default_thread_limiter)
            assert limiter.total_tokens == threads
