"""API benchmark: GET /v1/me/digest against GET /healthz on the same uvicorn server.

Stores 10,000 items, fits the ranking model, creates a person, starts `uvicorn app.main:app` in
its own process, and drives load from another process (aiohttp, keep-alive connections).
The digest is built on its first request and served as recorded after, so the figure is what
a learner's client sees all day. Medians of --runs runs, alternating the two endpoints, once with
the API-key cache at its default and once with it off (every request authenticated by query).

    python bench/api.py --items 10000 --seconds 5 --runs 3
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ is first on the path, where bench/email.py would shadow the stdlib
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import make_parser  # noqa: E402
from curation.ingest.records import CleanItem  # noqa: E402
from curation.people.records import NewPerson
from curation.services import make_curation  # noqa: E402
from curation.settings import Settings  # noqa: E402
from curation.storage.engine import make_engine, upgrade  # noqa: E402
from curation.storage.feeds import FeedWrite, Store  # noqa: E402
from curation.storage.people import PeopleStore

WORDS = [
    *"learning team manager skills data python feedback coaching onboarding research".split(),
    *"model design product strategy remote culture hiring security cloud testing".split(),
    *"analytics leadership review course mentor career growth metrics agile planning".split(),
]


def seed(url: str, n_items: int) -> str:
    upgrade(url)
    engine = make_engine(url)
    store = Store(engine)
    rnd = random.Random(7)
    now = datetime.now(UTC)
    sources = [store.add_source(f"https://feeds{i}.example.org/rss").id for i in range(20)]
    per = n_items // len(sources)
    for s in sources:
        items = []
        for j in range(per):
            words = [rnd.choice(WORDS) for _ in range(120)]
            title = " ".join(words[:7]).capitalize()
            text = " ".join(words)
            items.append(
                CleanItem(
                    guid=f"{s}-{j}",
                    dedupe_key=f"https://site{s}.example.org/{j}",
                    title=title,
                    url=f"https://site{s}.example.org/{j}",
                    summary_html=f"<p>{text}</p>",
                    content_html="",
                    text=text,
                    author=None,
                    published_at=now - timedelta(minutes=j),
                    updated_at=None,
                    content_hash=f"{s}-{j}",
                )
            )
        store.save_feeds([FeedWrite(s, items)], now=now, next_attempt_at=now)
    settings = Settings(database_url=url)
    make_curation(settings, engine=engine).refit()
    _, key = PeopleStore(engine).create(
        NewPerson(
            email="bench@example.org",
            name="Bench",
            digest_hour=0,  # due at any hour: the recorded digest, not a live preview
            interests=[("python testing", 1.0), ("team leadership", 2.0)],
        )
    )
    return key


async def load(url: str, key: str, seconds: float, connections: int) -> float:
    import aiohttp

    headers = {"Authorization": f"Bearer {key}"}
    done = 0
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done, errors
        while time.perf_counter() < stop:
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                if resp.status == 200:
                    done += 1
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{errors} non-200 answers from {url}")
    return done / elapsed


def load_process(url: str, key: str, seconds: float, connections: int) -> float:
    """Run the load generator in its own process, so it does not share the server's CPU."""
    args = ", ".join(repr(a) for a in (url, key, seconds, connections))
    code = (
        f"import asyncio, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.api import load; "
        f"print(asyncio.run(load({args})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = make_parser(__doc__, items=10_000, seconds=5.0, connections=16)
    ap.add_argument(
        "--auth-cache-seconds",
        type=float,
        nargs="+",
        default=[5.0, 0.0],
        help="run the server once per value: 5 is the default, 0 authenticates every request",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/api.db"
        key = seed(url, args.items)
        results = {}
        for cache in args.auth_cache_seconds:
            results[cache] = serve_and_load(url, key, cache, args)
    print(f"\nmedians of {args.runs} runs, {args.connections} connections, one uvicorn worker")
    for cache, (health, dig) in results.items():
        h, d = statistics.median(health), statistics.median(dig)
        label = f"CURATION_API_AUTH_CACHE_SECONDS={cache:g}"
        print(f"{label}: healthz {h:6.0f} req/s, digest {d:6.0f} req/s, ratio {d / h:.2f}")


def serve_and_load(url: str, key: str, cache: float, args: argparse.Namespace) -> tuple[list, list]:
    """Start uvicorn with the given key-cache time, then alternate healthz and digest load."""
    port = free_port()
    env = {
        **os.environ,
        "CURATION_DATABASE_URL": url,
        "CURATION_API_AUTH_CACHE_SECONDS": str(cache),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        req = urllib.request.Request(
            base + "/v1/me/digest", headers={"Authorization": f"Bearer {key}"}
        )
        digest = json.loads(urllib.request.urlopen(req, timeout=60).read())
        n = sum(len(s["items"]) for s in digest["sections"])
        print(f"auth cache {cache:g} s; {args.items} items stored; the digest holds {n} items")
        health, dig = [], []
        for run in range(args.runs):
            health.append(load_process(base + "/healthz", key, args.seconds, args.connections))
            dig.append(load_process(base + "/v1/me/digest", key, args.seconds, args.connections))
            print(
                f"run {run + 1}: healthz {health[-1]:.0f} req/s, digest {dig[-1]:.0f} req/s",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()
    return health, dig


if __name__ == "__main__":
    main()
