"""`curation run --workers 2` as a real subprocess: two API processes on one port under one
supervisor. A key revoked through one process is refused by every process within
``CURATION_API_AUTH_CACHE_SECONDS``; feedback given through one process drops the item from
the live recommendations every process remembers within ``CURATION_RANK_LIVE_CHECK_SECONDS``;
``/metrics`` counts the requests of both processes, whichever answers the scrape; the
scheduler runs once, in the supervisor."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from curation.services import make_curation
from curation.settings import Settings
from curation.storage.engine import make_engine
from curation.storage.feeds import FeedWrite, Store
from tests.helpers.cli import add_person, clean_env, curation_cmd, get_json
from tests.helpers.net import free_port
from tests.helpers.store import clean_item

REQUESTS = 80
AUTH_CACHE_SECONDS = 1.0


def _status(url: str, key: str, method: str = "GET") -> int:
    """The status of one request, on a connection of its own (so either process may answer)."""
    request = urllib.request.Request(
        url, method=method, headers={"Authorization": f"Bearer {key}", "Connection": "close"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _listed(url: str, key: str) -> list[int]:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {key}", "Connection": "close"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return [entry["item"]["id"] for entry in json.loads(r.read())["items"]]


def _items_and_model(url: str) -> None:
    """Items on a few topics, first seen now, and the model fitted on them."""
    store = Store(make_engine(url))
    source = store.add_source("http://127.0.0.1:9/feed.xml").id
    now = datetime.now(UTC)
    topics = ("python testing fixtures", "garden roses tulips", "sailing boat harbour")
    items = [
        clean_item(f"{n}-{k}", title=f"{topic} {k}", text=f"{topic} {angle} " * 4, published=now)
        for n, topic in enumerate(topics)
        for k, angle in enumerate(("mocks coverage", "soil winter", "wind tide"))
    ]
    store.save_feeds([FeedWrite(source, items)], now=now, next_attempt_at=now)
    assert make_curation(Settings(database_url=url)).refit()
    store.engine.dispose()


def _requests_total(base: str, route: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
        text = r.read().decode()
    pattern = rf'^curation_http_requests_total\{{[^}}]*route="{re.escape(route)}"[^}}]*\}} (\S+)$'
    return sum(float(m.group(1)) for m in re.finditer(pattern, text, re.MULTILINE))


def test_two_api_processes_share_revocations_metrics_and_one_scheduler(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left from an earlier run")
    env = clean_env(
        CURATION_DATABASE_URL=f"sqlite:///{tmp_path / 'api.db'}",
        CURATION_DEFAULT_SOURCES="-",
        CURATION_SECRET_KEY_FILE=str(tmp_path / "secret"),
        CURATION_OUTBOX_DIR=str(tmp_path / "outbox"),
        CURATION_SCHEDULER_TICK_SECONDS="1",
        CURATION_API_AUTH_CACHE_SECONDS=str(AUTH_CACHE_SECONDS),
        CURATION_RANK_LIVE_CHECK_SECONDS=str(AUTH_CACHE_SECONDS),
        CURATION_RATE_LIMIT_AUTH_FAILURES="100000",
        CURATION_RATE_LIMIT_PER_KEY="100000",
        CURATION_RATE_LIMIT_PER_ADDRESS="100000",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    cmd = curation_cmd()
    subprocess.run([*cmd, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = add_person(
        env, "--email", "ada@example.org", "--name", "Ada", "--interest", "python testing"
    )
    _items_and_model(env["CURATION_DATABASE_URL"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "run", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180  # two processes start slowly on a busy machine
        while log.read_text().count("Application startup complete") < 2:  # both processes
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not serving: {log.read_text()}"
            time.sleep(0.2)
        assert get_json(f"{base}/healthz")[0] == 200
        assert not (metrics_dir / "counter_1.db").exists(), "metrics of an earlier run kept"

        # many requests on fresh connections: both processes answer some, and cache the key
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _status(f"{base}/v1/me", key), range(REQUESTS)))
        assert statuses == [200] * REQUESTS
        writers = {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("counter_*.db")}
        assert len(writers) == 2 and proc.pid not in writers, writers
        # every scrape, whichever process answers it, counts the requests of both
        for _ in range(6):
            assert _requests_total(base, "/v1/me") == REQUESTS

        # live recommendations remembered by both processes; feedback through one of them:
        # within the bound neither lists the item any more
        recs = f"{base}/v1/me/recommendations"
        with ThreadPoolExecutor(8) as pool:
            lists = list(pool.map(lambda _: _listed(recs, key), range(20)))
        top = lists[0][0]
        assert all(found and found[0] == top for found in lists), lists
        feedback = urllib.request.Request(
            f"{base}/v1/me/feedback",
            method="POST",
            data=json.dumps({"item_id": top, "signal": "not_useful"}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(feedback, timeout=10) as r:
            assert r.status < 300
        time.sleep(AUTH_CACHE_SECONDS + 0.5)
        with ThreadPoolExecutor(8) as pool:
            lists = list(pool.map(lambda _: _listed(recs, key), range(20)))
        assert all(found and top not in found for found in lists), lists

        # the key is replaced through one process; within the bound every process refuses it
        request = urllib.request.Request(
            f"{base}/v1/me/api-key", method="POST", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            new_key = json.loads(r.read())["api_key"]
        time.sleep(AUTH_CACHE_SECONDS + 0.5)
        with ThreadPoolExecutor(8) as pool:
            old = list(pool.map(lambda _: _status(f"{base}/v1/me", key), range(40)))
            new = list(pool.map(lambda _: _status(f"{base}/v1/me", new_key), range(40)))
        assert old == [401] * 40
        assert new == [200] * 40
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    text = log.read_text()
    schedulers = re.findall(r"scheduler: running in process (\d+)", text)
    assert schedulers == [str(proc.pid)], text
    api = set(re.findall(r"API process (\d+) serving", text))
    assert len(api) == 2 and str(proc.pid) not in api, text
    assert api == {str(p) for p in writers}
