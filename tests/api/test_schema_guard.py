"""The app refuses to serve a database whose schema is not the code's (issue 17, class 7):
``/healthz`` is 503 with the reason, every ``/v1`` path a 503 problem naming both revisions and
what to run, instead of 500s on some paths only. Once upgraded, it serves again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from curation.storage.engine import upgrade
from curation.storage.schema import code_heads
from tests.helpers.settings import make_settings

BEHIND = "0006"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_a_database_behind_the_code_is_not_served(database_url: str) -> None:
    upgrade(database_url, BEHIND)
    app = create_app(make_settings(database_url))
    client = TestClient(app)
    needs = ", ".join(code_heads())

    health = client.get("/healthz")
    assert health.status_code == 503
    reason = health.json()["reason"]
    assert health.json()["status"] == "unhealthy"
    assert f"database at {BEHIND}, code needs {needs}" in reason
    assert "run `curation db upgrade`" in reason
    assert int(health.headers["Retry-After"]) > 0

    for method, path in (("GET", "/v1/me"), ("GET", "/v1/sources"), ("POST", "/v1/people")):
        answer = client.request(method, path, headers={"Authorization": "Bearer cur_whatever"})
        assert answer.status_code == 503, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["detail"] == reason
        assert int(answer.headers["Retry-After"]) > 0

    # upgraded meanwhile: the app notices at its next check and serves again
    upgrade(database_url)
    app.state.domain.RECHECK_SECONDS = 0
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/v1/me").status_code == 401  # an ordinary answer again
    app.state.domain.close()


def test_a_database_without_a_schema_is_not_served(sqlite_url: str) -> None:
    client = TestClient(create_app(make_settings(sqlite_url)))
    health = client.get("/healthz")
    assert health.status_code == 503
    assert "has no schema" in health.json()["reason"]
    assert client.get("/v1/me").status_code == 503


def test_a_database_ahead_of_the_code_says_so(sqlite_url: str) -> None:
    from sqlalchemy import create_engine, text

    upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9000'"))
    engine.dispose()
    client = TestClient(create_app(make_settings(sqlite_url)))
    reason = client.get("/healthz").json()["reason"]
    assert "database at 9000, which this code does not know" in reason
