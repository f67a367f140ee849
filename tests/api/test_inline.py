"""Bounded reads on the event loop (app.inline): on SQLite a marked endpoint runs on the loop,
a read that runs past ``CURATION_API_INLINE_READ_MS`` runs again in a thread, and on
PostgreSQL or with the setting at 0 every one runs in a thread.

Where an endpoint ran is told by the thread: an async dependency runs on the loop, so the
endpoint ran there when it saw the same thread. The domain is the real one on a real database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from app.inline import inline_budget, quick_read
from app.main import create_app
from curation.services import Curation, make_curation
from curation.storage import budget
from curation.storage.engine import make_engine, upgrade
from tests.helpers.api import open_api
from tests.helpers.db import BOUND, BUSY_TIMEOUT, SLOW_COUNT, within, write_lock_held
from tests.helpers.settings import make_settings


async def loop_thread() -> int:
    """Runs on the event loop (an async dependency): the loop's thread."""
    return threading.get_ident()


def probe_domain(request: Request) -> Curation:
    return request.app.state.probe_domain


def probe_app(domain: Curation) -> tuple[FastAPI, list[tuple[str, int]]]:
    """An app with one marked endpoint that counts to ``top`` in SQL and records, per call,
    whether it ran on the loop's thread and how it ended."""
    calls: list[tuple[str, int]] = []
    app = FastAPI()
    app.state.probe_domain = domain

    @app.get("/count")
    @quick_read
    def counted(
        loop: Annotated[int, Depends(loop_thread)],
        domain: Annotated[Curation, Depends(probe_domain)],
        top: int = 10,
    ) -> dict[str, object]:
        where = "loop" if threading.get_ident() == loop else "thread"
        try:
            with domain.engine.connect() as conn:
                found = conn.execute(SLOW_COUNT, {"top": top}).scalar_one()
        except Exception:
            calls.append((where, -1))
            raise
        calls.append((where, found))
        return {"count": found, "ran": where}

    return app, calls


@pytest.fixture
def domain_at(tmp_path) -> Iterator:  # noqa: ANN001
    built: list[Curation] = []

    def build(url: str | None = None, **overrides: object) -> Curation:
        url = url or f"sqlite:///{tmp_path / 'inline.db'}"
        upgrade(url)
        settings = make_settings(url, **overrides)
        domain = make_curation(settings, engine=make_engine(url, busy_timeout=1.0))
        built.append(domain)
        return domain

    yield build
    for domain in built:
        domain.close()


def test_a_bounded_read_runs_on_the_event_loop_on_sqlite(domain_at) -> None:  # noqa: ANN001
    domain = domain_at()
    assert inline_budget(domain) == pytest.approx(0.020)  # the default: 20 ms
    app, calls = probe_app(domain)
    with TestClient(app) as client:
        answer = client.get("/count", params={"top": 100})
    assert answer.json() == {"count": 100, "ran": "loop"}
    assert calls == [("loop", 100)]


def test_a_read_past_its_budget_runs_again_in_a_thread(domain_at) -> None:  # noqa: ANN001
    domain = domain_at(api_inline_read_ms=1)
    app, calls = probe_app(domain)
    with TestClient(app) as client:
        answer = client.get("/count", params={"top": 3_000_000})
    assert answer.status_code == 200
    assert answer.json() == {"count": 3_000_000, "ran": "thread"}
    assert calls == [("loop", -1), ("thread", 3_000_000)]  # stopped on the loop, then whole


def test_with_the_setting_at_zero_reads_run_in_threads(domain_at) -> None:  # noqa: ANN001
    domain = domain_at(api_inline_read_ms=0)
    app, calls = probe_app(domain)
    with TestClient(app) as client:
        assert client.get("/count").json() == {"count": 10, "ran": "thread"}
    assert calls == [("thread", 10)]


def test_postgresql_reads_run_in_threads(domain_at, pg_url: str) -> None:  # noqa: ANN001
    domain = domain_at(pg_url)
    assert inline_budget(domain) == 0
    app, calls = probe_app(domain)
    with TestClient(app) as client:
        assert client.get("/count").json() == {"count": 10, "ran": "thread"}
    assert calls == [("thread", 10)]


def test_only_synchronous_endpoints_with_a_domain_can_be_marked() -> None:
    async def not_sync(domain: object) -> None:
        return None

    def no_domain(q: str) -> None:
        return None

    with pytest.raises(TypeError, match="synchronous"):
        quick_read(not_sync)
    with pytest.raises(TypeError, match="domain"):
        quick_read(no_domain)


def routes_of(routes: list, prefix: str = "") -> Iterator[tuple[str, object]]:  # noqa: ANN001
    """Every route with its full path, inside included routers too (FastAPI keeps an included
    router as one route that holds the router and its prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from routes_of(inner.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix + getattr(route, "path", ""), route


def test_every_marked_route_of_the_app_is_a_read(tmp_path) -> None:  # noqa: ANN001
    """Only GETs may run on the loop (a write waits for SQLite's lock); and the workspace's
    lists and searches, the pages the bench measures, are among them."""
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'routes.db'}"))
    marked = {
        path: route.methods
        for path, route in routes_of(app.routes)
        if getattr(getattr(route, "endpoint", None), "quick_read", False)
    }
    assert all(methods == {"GET"} for methods in marked.values()), marked
    assert {
        "/workspace/sources",
        "/workspace/gems",
        "/workspace/items",
        "/workspace/collections",
        "/workspace/collections/{collection_id}",
        "/v1/items",
        "/v1/gems",
        "/v1/sources",
        "/v1/collections",
        "/v1/collections/{collection_id}",
    } <= set(marked)


@pytest.mark.parametrize(
    "path", ["/v1/items", "/v1/items?q=octopus", "/v1/gems", "/v1/sources", "/v1/collections"]
)
def test_reads_on_the_loop_go_on_while_sqlite_is_locked(sqlite_url: str, path: str) -> None:
    """WAL: readers never wait for a writer, so a read on the loop never holds it for one."""
    upgrade(sqlite_url)
    with open_api(sqlite_url, api_busy_timeout=BUSY_TIMEOUT) as api:
        curator = api.person("curator")
        api.topic_items("inline-")
        with write_lock_held(sqlite_url):
            answer, took = within(BOUND, lambda: api.client.get(path, headers=curator.headers))
            health, _ = within(BOUND, lambda: api.client.get("/healthz"))
        assert answer.status_code == 200, answer.text
        assert took < BUSY_TIMEOUT  # answered, not waited for the lock and refused
        assert health.status_code == 200
        if "q=octopus" in path:
            assert [i["title"] for i in answer.json()["items"]] == ["octopus 4", "octopus 0"]


@pytest.mark.parametrize(
    "path", ["/v1/items", "/v1/items?q=octopus", "/v1/gems", "/v1/sources", "/v1/collections"]
)
def test_reads_moved_to_a_thread_answer_the_same(
    sqlite_url: str, path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The real app with a budget no read can keep (1 µs, the clock looked at every SQLite
    step): every marked read stops on the loop and runs again in a thread; the answers are
    those of reads on the loop."""
    monkeypatch.setattr(budget, "CHECK_EVERY", 1)
    upgrade(sqlite_url)
    answers = []
    for budget_ms in (20.0, 0.001):
        with open_api(sqlite_url, api_inline_read_ms=budget_ms) as api:
            if not answers:
                curator = api.person("curator")
                api.gem(curator, api.topic_items("moved-")[0])
                made = api.client.post(
                    "/v1/collections", json={"name": "Picks"}, headers=curator.headers
                )
                assert made.status_code == 201, made.text
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="app.inline"):
                answer = api.client.get(path, headers=curator.headers)
            assert answer.status_code == 200, answer.text
            answers.append(answer.json())
    assert "again in a thread" in caplog.text  # the second one moved
    assert answers[0] == answers[1]
    assert any(answers[0].values())  # something was listed, not two empty answers
