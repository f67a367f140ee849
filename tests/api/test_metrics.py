"""Service metrics: the exposition parses, counts are exact, recording is thread-safe, and in
multiprocess mode one scrape adds up the requests that separate worker processes served."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from curation.metrics import MULTIPROC_ENV, ServiceMetrics
from curation.settings import Settings
from curation.storage.engine import upgrade
from curation.storage.feeds import Store
from tests.helpers.paths import ROOT

REQUESTS = "curation_http_requests"  # counter families are named without "_total" by the parser
SECONDS = "curation_http_request_duration_seconds"
FAMILIES = {
    REQUESTS: "counter",
    SECONDS: "histogram",
    "curation_ingest_runs": "counter",
    "curation_ingest_sources": "counter",
    "curation_ingest_new_items": "counter",
    "curation_ingest_duration_seconds": "histogram",
    "curation_live_rank_batch_size": "histogram",
    "curation_live_rank_batch_failures": "counter",
}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition by (sample name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client: TestClient) -> str:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == ServiceMetrics.CONTENT_TYPE
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


def test_exposition_parses_and_counts_exactly_the_requests_made(
    settings: Settings, store: Store
) -> None:
    # ``store`` migrates the database: a database without the schema is not served (503)
    client = TestClient(create_app(settings))
    before = scrape(client)
    families = {f.name: f.type for f in text_string_to_metric_families(before)}
    assert families == FAMILIES  # the same names as ever, no extra "_created" gauges

    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    for _ in range(3):
        assert client.get("/nope/item-4711").status_code == 404
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    healthz = {"method": "GET", "route": "/healthz"}
    assert delta(f"{REQUESTS}_total", **healthz, status="200") == 5
    assert delta(f"{REQUESTS}_total", method="GET", route="unmatched", status="404") == 3
    routes = {
        dict(labels)["route"] for (name, labels) in samples(after) if name == f"{REQUESTS}_total"
    }
    assert routes == {"/healthz", "unmatched", "/metrics"}  # never the raw path
    assert "item-4711" not in after
    # the first scrape is counted once it has answered, so it shows in the second
    assert delta(f"{REQUESTS}_total", method="GET", route="/metrics", status="200") == 1
    total = sum(v for (name, _), v in samples(after).items() if name == f"{REQUESTS}_total")
    assert total == 5 + 3 + 1
    assert delta(f"{SECONDS}_count", **healthz) == 5
    assert delta(f"{SECONDS}_bucket", **healthz, le="+Inf") == 5
    assert delta(f"{SECONDS}_sum", **healthz) > 0


def test_ingest_cycles_and_histogram_buckets() -> None:
    metrics = ServiceMetrics()
    metrics.observe_ingest(["ok", "ok", "error"], new_items=4, seconds=5.0)
    metrics.observe_ingest(["ok"], new_items=0, seconds=700.0)
    metrics.observe_request("POST", "/v1/ingest", 200, 0.01)
    text = metrics.render().decode()
    assert value(text, "curation_ingest_runs_total") == 2
    assert value(text, "curation_ingest_sources_total", status="ok") == 3
    assert value(text, "curation_ingest_sources_total", status="error") == 1
    assert value(text, "curation_ingest_new_items_total") == 4
    # buckets are cumulative and a bound is inclusive
    assert value(text, "curation_ingest_duration_seconds_bucket", le="1.0") == 0
    assert value(text, "curation_ingest_duration_seconds_bucket", le="5.0") == 1
    assert value(text, "curation_ingest_duration_seconds_bucket", le="600.0") == 1
    assert value(text, "curation_ingest_duration_seconds_bucket", le="+Inf") == 2
    assert value(text, "curation_ingest_duration_seconds_sum") == 705.0
    route = {"method": "POST", "route": "/v1/ingest"}
    assert value(text, f"{SECONDS}_bucket", **route, le="0.005") == 0
    assert value(text, f"{SECONDS}_bucket", **route, le="0.01") == 1
    with pytest.raises(ValueError):
        metrics.ingest_new_items.inc(-1)


def test_live_ranking_batches() -> None:
    metrics = ServiceMetrics()
    for size, failed in ((1, False), (3, False), (40, True)):
        metrics.observe_live_batch(size, failed)
    text = metrics.render().decode()
    assert value(text, "curation_live_rank_batch_size_count") == 3
    assert value(text, "curation_live_rank_batch_size_sum") == 44
    assert value(text, "curation_live_rank_batch_size_bucket", le="1.0") == 1
    assert value(text, "curation_live_rank_batch_size_bucket", le="4.0") == 2
    assert value(text, "curation_live_rank_batch_size_bucket", le="32.0") == 2
    assert value(text, "curation_live_rank_batch_failures_total") == 1


def test_instances_do_not_share_values() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()
    first.observe_request("GET", "/healthz", 200, 0.001)
    assert value(first.render().decode(), f"{REQUESTS}_total", method="GET", route="/healthz",
                 status="200") == 1  # fmt: skip
    assert f"{REQUESTS}_total{{" not in second.render().decode()


def test_recording_from_many_threads_loses_nothing() -> None:
    metrics = ServiceMetrics()
    threads, each = 8, 2000
    start = threading.Barrier(threads)

    def record() -> None:
        start.wait()
        for _ in range(each):
            metrics.observe_request("GET", "/healthz", 200, 0.002)

    workers = [threading.Thread(target=record) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    text = metrics.render().decode()
    labels = {"method": "GET", "route": "/healthz"}
    assert value(text, f"{REQUESTS}_total", **labels, status="200") == threads * each
    assert value(text, f"{SECONDS}_count", **labels) == threads * each


def test_multiprocess_setting_must_be_a_directory_set_before_import(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not a directory"):
        ServiceMetrics()
    # this test process imported prometheus_client without the variable: values live in memory
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match="set after prometheus_client was imported"):
        ServiceMetrics()


# Run in a fresh interpreter, like one worker of `uvicorn app.main:app --workers N`: it imports
# the module-level app (which reads PROMETHEUS_MULTIPROC_DIR) and serves requests in-process.
WORKER = """
import sys
from fastapi.testclient import TestClient
from app.main import app

client = TestClient(app)
healthz, missing = int(sys.argv[1]), int(sys.argv[2])
for _ in range(healthz):
    assert client.get("/healthz").status_code == 200
for _ in range(missing):
    assert client.get("/nope").status_code == 404
app.state.metrics.observe_ingest(["ok"], new_items=healthz, seconds=2.0)
if len(sys.argv) > 3:
    sys.stdout.write(client.get("/metrics").text)
"""


def run_worker(env: dict[str, str], *args: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, *(str(a) for a in args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_multiprocess_mode_sums_the_requests_of_all_processes(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        MULTIPROC_ENV: str(metrics_dir),
        "CURATION_DATABASE_URL": f"sqlite:///{tmp_path / 'curation.db'}",
    }
    upgrade(env["CURATION_DATABASE_URL"])  # a database without the schema is not served (503)
    assert run_worker(env, 3, 1) == ""
    assert run_worker(env, 4, 2) == ""
    assert len(list(metrics_dir.glob("*.db"))) >= 2  # files of two processes
    text = run_worker(env, 0, 0, 1)  # a third process: no requests, answers the scrape

    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families == FAMILIES
    healthz = {"method": "GET", "route": "/healthz"}
    assert value(text, f"{REQUESTS}_total", **healthz, status="200") == 3 + 4
    assert value(text, f"{REQUESTS}_total", method="GET", route="unmatched", status="404") == 3
    assert value(text, f"{SECONDS}_count", **healthz) == 7
    assert value(text, f"{SECONDS}_bucket", **healthz, le="+Inf") == 7
    assert value(text, "curation_ingest_runs_total") == 3  # one per process, the third's too
    assert value(text, "curation_ingest_sources_total", status="ok") == 3
    assert value(text, "curation_ingest_new_items_total") == 7
    assert value(text, "curation_ingest_duration_seconds_bucket", le="5.0") == 3
