"""The HTTP edge as it stands: health and the problem+json error shape, start-up (the
threads, the ranking model loaded beside it)."""

from __future__ import annotations

import logging
import re
import threading

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient

from app.main import create_app
from curation.curate.insight_service import InsightService
from curation.settings import Settings
from curation.storage.feeds import Store
from tests.helpers.api import open_api
from tests.helpers.settings import db_url


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


def _sample_paths(app) -> list[str]:  # noqa: ANN001
    """A path for every route of the app (its parameters filled in), each also with and
    without a trailing slash, and paths no route has."""
    from app.routing import route_starts

    paths = {"/", "/nope", "/v1", "/v1/", "/workspace/", "/static/web/style.css", "/me/"}
    for route in app.router.routes:
        for start in route_starts(route) or ():
            paths.update({start, start.rstrip("/"), start + "1", start + "1/x", start + "x/1/"})
    return sorted(p for p in paths if p)


def _chosen(app, path: str, method: str) -> tuple[int, object] | None:  # noqa: ANN001
    """The first top-level route that fully matches (else the first partial one), as the
    router picks it, and the route the match names."""
    from starlette.routing import Match

    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    partial = None
    for n, route in enumerate(app.router.routes):
        match, child = route.matches(dict(scope))
        if match == Match.FULL:
            return n, child.get("endpoint", child.get("route"))
        if match == Match.PARTIAL and partial is None:
            partial = (n, child.get("endpoint", child.get("route")))
    return partial


def test_gated_routes_choose_what_ungated_routes_choose(settings: Settings) -> None:
    """Each top-level route says "no match" at once to a path outside its literal starts
    (app.routing.gate_routes); the route chosen for any path is the one chosen without that."""
    from app.routing import gate_routes

    app = create_app(settings)
    gated = [r for r in app.router.routes if "matches" in vars(r)]
    assert len(gated) >= 20  # every API and web router but the front door's
    paths = _sample_paths(app)
    assert len(paths) > 100
    chosen = {(p, m): _chosen(app, p, m) for p in paths for m in ("GET", "POST", "DELETE")}
    for route in gated:
        del route.matches  # the route's own matching again
    assert not [r for r in app.router.routes if "matches" in vars(r)]
    for (path, method), found in chosen.items():
        assert _chosen(app, path, method) == found, (method, path)
    assert gate_routes(app) == len(gated)


def test_a_gated_app_answers_as_before(settings: Settings, store: Store) -> None:
    """Through the whole app: a page, an API path, a static file, an unknown path."""
    client = TestClient(create_app(settings))
    assert client.get("/workspace/sources", follow_redirects=False).status_code == 303
    assert client.get("/v1/items").status_code == 401
    assert client.get("/static/web/style.css").status_code == 200
    assert client.get("/workspace/nope").status_code == 404
    assert client.get("/v1/items/").status_code in (307, 401)  # as the router redirects slashes


def _fitted(api) -> None:  # noqa: ANN001 - tests.helpers.api.Api
    """Items, a declared interest and a fitted ranking model in ``api``'s database."""
    api.topic_items("w")
    api.person(interests=[("octopus", 1.0)])
    assert api.app.state.domain.get().refit()


def test_an_api_process_loads_the_ranking_model_at_start_up(
    any_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Started, the app loads the ranking model and the declared phrases' vectors in a
    background thread, so the first item page does not wait for them (seconds on 100,000
    items); no request asked for them. The log says how long the load took."""
    with open_api(db_url(any_store)) as fitted:
        _fitted(fitted)
    with open_api(db_url(any_store)) as api:
        assert not hasattr(api.app.state, "warm_up")  # not started: nothing loaded
        with caplog.at_level(logging.INFO, logger="app.main"), TestClient(api.app):
            api.app.state.warm_up.join(timeout=60)
            domain = api.app.state.domain.get()
            assert domain.recommender.loaded()
            model = domain.recommender.model()
            assert "octopus" in domain.recommender.phrase_cache(model)
    assert re.search(r"ranking model loaded at start-up in \d+\.\d s", caplog.text)


def test_start_up_says_when_there_is_no_model_to_load(
    any_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A database with no fitted model yet: the warm-up loads nothing and says so."""
    with (
        open_api(db_url(any_store)) as api,
        caplog.at_level(logging.INFO, logger="app.main"),
        TestClient(api.app),
    ):
        api.app.state.warm_up.join(timeout=60)
        assert not api.app.state.domain.get().recommender.loaded()
    assert "no ranking model to load at start-up" in caplog.text
    assert "loaded at start-up in" not in caplog.text


def test_start_up_and_health_do_not_wait_for_the_model(
    any_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load runs beside the app: start-up ends and /healthz answers while it is under way;
    a failed load is logged and left to the first request that needs the model."""
    loading, release = threading.Event(), threading.Event()

    def slow_warm(self) -> bool:  # noqa: ANN001
        loading.set()
        assert release.wait(30)
        raise RuntimeError("no model today")

    monkeypatch.setattr(InsightService, "warm", slow_warm)
    with open_api(db_url(any_store)) as api, TestClient(api.app) as client:
        assert loading.wait(30)
        assert client.get("/healthz").json() == {"status": "ok"}
        assert api.app.state.warm_up.is_alive()
        release.set()
        api.app.state.warm_up.join(timeout=30)
        assert not api.app.state.domain.get().recommender.loaded()
