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
