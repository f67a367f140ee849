"""API benchmark: GET /v1/me/digest and the live GET /v1/me/recommendations against GET /healthz.

Stores 10,000 items, fits the ranking model, creates a person, starts `uvicorn app.main:app` in
its own process, and drives load from another process (aiohttp, keep-alive connections).
The digest is built on its first request and served as recorded after, so the figure is what
a learner's client sees all day. Medians of --runs runs, alternating the two endpoints, once with
the API-key cache at its default and once with it off (every request authenticated by query).

Then the live ranking: --rec-items items of real text (../shared/data/ranking/) first seen in
the last day, a fitted model, --rec-people people with 1–3 interests each drawn from the
collections' topics, served as the product serves it (``curation serve --workers N``, no
scheduler; one run per value of --rec-workers). Each request is made with a person's key drawn
at random, so answers are per person, not one hot key. First a pass asking for every person's
list once (the cold cost: nothing of theirs in memory), then GET /v1/me/recommendations against
/healthz at --rec-connections connections: requests/s and latency p50/p99 (target p99 ≤ 50 ms).

    python bench/api.py --items 10000 --seconds 5 --runs 3 --rec-items 5000 --rec-connections 32
    python bench/api.py --skip-digest --rec-people 1000 --rec-workers 1 2
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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import bench_item, free_port, make_parser, run_apart  # noqa: E402
from bench.feedhost import real_docs  # noqa: E402
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


def add_people(url: str, n: int) -> list[str]:
    """``n`` learners with 1–3 interests each from the collections' topics; their API keys."""
    from bench.digests import topics

    phrases = topics()
    rnd = random.Random(16)
    people = PeopleStore(make_engine(url))
    keys = []
    for k in range(n):
        chosen = rnd.sample(phrases, rnd.randint(1, 3))
        _, key = people.create(
            NewPerson(
                email=f"reader{k}@example.org",
                name=f"Reader {k}",
                interests=[(phrase, 1.0) for phrase in chosen],
            )
        )
        keys.append(key)
    return keys


def seed(url: str, n_items: int, real: bool = False) -> str:
    """Store ``n_items`` (real text, or the small vocabulary), fit the model, add a person."""
    upgrade(url)
    engine = make_engine(url)
    store = Store(engine)
    rnd = random.Random(7)
    now = datetime.now(UTC)
    sources = [store.add_source(f"https://feeds{i}.example.org/rss").id for i in range(20)]
    per = n_items // len(sources)
    docs = real_docs() if real else []
    for s in sources:
        items = []
        for j in range(per):
            if docs:
                title, text = docs[(s * per + j) % len(docs)]
                title, text = " ".join(title.split()) or f"Post {j}", " ".join(text.split())
            else:
                words = [rnd.choice(WORDS) for _ in range(120)]
                title = " ".join(words[:7]).capitalize()
                text = " ".join(words)
            items.append(bench_item(s, j, title, text, now=now, summary_html=f"<p>{text}</p>"))
        store.save_feeds([FeedWrite(s, items)], now=now, next_attempt_at=now)
    settings = Settings(database_url=url)
    make_curation(settings, engine=engine).refit()
    _, key = PeopleStore(engine).create(
        NewPerson(
            email="bench@example.org",
            name="Bench",
            digest_hour=0,  # due at any hour: the recorded digest, not a live preview
            interests=(
                [("space", 1.0), ("middle east politics", 1.0), ("hockey", 0.7)]
                if real
                else [("python testing", 1.0), ("team leadership", 2.0)]
            ),
        )
    )
    return key


async def load(
    url: str, key: str | list[str], seconds: float, connections: int, once: bool = False
) -> dict:
    """Requests/s and latency percentiles (ms) of ``connections`` clients for ``seconds``, each
    request with a key drawn at random from ``key`` (one key, or a list); with ``once``, every
    key of the list once instead, in turn, for as long as that takes."""
    import aiohttp

    keys = [key] if isinstance(key, str) else list(key)
    rnd = random.Random(5)
    turn = iter(keys)
    done = 0
    errors = 0
    latencies: list[float] = []
    stop = time.perf_counter() + (float("inf") if once else seconds)

    def next_headers() -> dict[str, str] | None:
        chosen = next(turn, None) if once else rnd.choice(keys)
        return None if chosen is None else {"Authorization": f"Bearer {chosen}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done, errors
        while time.perf_counter() < stop:
            headers = next_headers()
            if headers is None:
                return
            sent = time.perf_counter()
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                latencies.append(time.perf_counter() - sent)
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
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {"rate": done / elapsed, "p50": pct(0.50), "p99": pct(0.99)}


def load_process(
    url: str, key: str | list[str], seconds: float, connections: int, once: bool = False
) -> dict:
    """The load generator in its own process, so it does not share the server's CPU."""
    try:
        return run_apart("bench.api", "load", url, key, seconds, connections, once)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"the load generator failed:\n{exc.stderr[-2000:]}") from exc


def main() -> None:
    ap = make_parser(
        __doc__,
        items=10_000,
        seconds=5.0,
        connections=16,
        rec_items=5_000,
        rec_connections=32,
        rec_people=1_000,
    )
    ap.add_argument(
        "--rec-workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="API processes (curation serve --workers N) for the recommendations part",
    )
    ap.add_argument(
        "--auth-cache-seconds",
        type=float,
        nargs="+",
        default=[5.0, 0.0],
        help="run the server once per value: 5 is the default, 0 authenticates every request",
    )
    ap.add_argument("--skip-digest", action="store_true", help="only the recommendations part")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_digest:
            url = f"sqlite:///{tmp}/api.db"
            key = seed(url, args.items)
            for cache in args.auth_cache_seconds:
                results[cache] = serve_and_load(
                    url, key, cache, args, "/v1/me/digest", args.connections, args.items
                )
        url = f"sqlite:///{tmp}/recommendations.db"
        seed(url, args.rec_items, real=True)
        keys = add_people(url, args.rec_people)
        live = {workers: serve_live(url, keys, args, workers) for workers in args.rec_workers}
    print(f"\nmedians of {args.runs} runs, one uvicorn worker")
    for cache, (health, dig) in results.items():
        label = f"CURATION_API_AUTH_CACHE_SECONDS={cache:g}, {args.connections} connections"
        print(f"{label}:\n  healthz {line(health)}\n  digest  {line(dig)}")
    for workers, (cold, health, recs) in live.items():
        print(
            f"recommendations, {args.rec_items} items, {args.rec_people} people at random,"
            f" {args.rec_connections} connections, curation serve --workers {workers}:"
        )
        print(f"  first request per person  {line([cold])}")
        print(f"  healthz                   {line(health)}")
        print(f"  recommendations           {line(recs)} (target p99 ≤ 50 ms)")


def line(rows: list[dict]) -> str:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    return f"{med('rate'):6.0f} req/s, p50 {med('p50'):6.1f} ms, p99 {med('p99'):6.1f} ms"


def serve_live(
    url: str, keys: list[str], args: argparse.Namespace, workers: int
) -> tuple[dict, list[dict], list[dict]]:
    """``curation serve --workers N`` (the product's server, no scheduler); every person's list
    once (cold), then alternate healthz and recommendations load with keys at random."""
    port = free_port()
    env = {
        **os.environ,
        "CURATION_DATABASE_URL": url,
        "CURATION_LOG_LEVEL": "WARNING",  # no access log line per request
        # many people behind one client address: the per-address limit would answer 429; the
        # per-key limit (600 a minute) stays on and is never reached at random over 1,000 keys
        "CURATION_RATE_LIMIT_PER_ADDRESS": "0",
    }
    cli = str(Path(sys.executable).parent / "curation")
    server = subprocess.Popen(
        [cli, "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    path = "/v1/me/recommendations"
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # N processes start slowly on a busy machine
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(15 if workers > 1 else 0)  # the other processes come up too
        cold = load_process(base + path, keys, args.seconds, args.rec_connections, True)
        print(f"{workers} API process(es): every person once: {cold}", flush=True)
        health, other = [], []
        for run in range(args.runs):
            health.append(load_process(base + "/healthz", keys, args.seconds, args.rec_connections))
            other.append(load_process(base + path, keys, args.seconds, args.rec_connections))
            print(f"run {run + 1}: healthz {health[-1]}, {path} {other[-1]}", flush=True)
    finally:
        server.terminate()
        server.wait()
    return cold, health, other


def serve_and_load(
    url: str,
    key: str,
    cache: float,
    args: argparse.Namespace,
    path: str,
    connections: int,
    items: int,
) -> tuple[list[dict], list[dict]]:
    """Start uvicorn with the given key-cache time, then alternate healthz and ``path`` load."""
    port = free_port()
    env = {
        **os.environ,
        "CURATION_DATABASE_URL": url,
        "CURATION_API_AUTH_CACHE_SECONDS": str(cache),
        # one client hammering one key: the per-key and per-address limits would answer 429
        "CURATION_RATE_LIMIT_PER_KEY": "0",
        "CURATION_RATE_LIMIT_PER_ADDRESS": "0",
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
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {key}"})
        body = json.loads(urllib.request.urlopen(req, timeout=60).read())
        sections = body.get("sections")
        n = sum(len(s["items"]) for s in sections) if sections else len(body.get("items", []))
        print(f"auth cache {cache:g} s; {items} items stored; {path} answers {n} items")
        health, other = [], []
        for run in range(args.runs):
            health.append(load_process(base + "/healthz", key, args.seconds, connections))
            other.append(load_process(base + path, key, args.seconds, connections))
            print(f"run {run + 1}: healthz {health[-1]}, {path} {other[-1]}", flush=True)
    finally:
        server.terminate()
        server.wait()
    return health, other


if __name__ == "__main__":
    main()
