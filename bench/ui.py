"""UI benchmark: p95 of the curators' workspace pages and API calls against GET /healthz.

Builds a SQLite file with --items items (spread over the last 40 days, --sources sources) whose
titles and text are real: the documents of ../shared/data/ranking/ (20 Newsgroups, BBC News, AG
News; read by path, repeated to fill the count), searched with real topic words (QUERIES);
--people learners (3 declared interests each, from a few hundred phrases made of the data's
topic names and commonest title words, with a long tail; a digest of 5 items each, some
feedback and counted opens), 10 curators, --gems gems and 10 collections of 50 gems, fits the
ranking model, computes the insight figures as the scheduler or a worker would beside the API,
then serves the real app with uvicorn in its own process over loopback (an API process alone,
`curation serve`). A load process signs in as a curator (API-key sign-in of the web
pages; the API calls use the key) and, per run, sends --requests requests to each path over
--connections keep-alive connections, healthz first. Figures are medians over --runs of each
path's p95; the goal is every page ≤ 10× healthz's p95.

    python bench/ui.py --items 100000 --people 10000 --gems 1000 --runs 3
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ is first on the path, where bench/email.py would shadow the stdlib
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import asyncio  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from sqlalchemy import insert, select  # noqa: E402

from bench import bench_item, free_port, make_parser, run_apart  # noqa: E402
from curation.people.records import NewPerson  # noqa: E402
from curation.services import make_curation  # noqa: E402
from curation.settings import Settings  # noqa: E402
from curation.storage.engine import make_engine, upgrade  # noqa: E402
from curation.storage.feeds import FeedWrite, Store  # noqa: E402
from curation.storage.tables import (  # noqa: E402
    Digest,
    DigestItem,
    Feedback,
    Gem,
    Interest,
    Item,
    ItemOpen,
    Person,
)

DATA = ROOT.parent / "shared" / "data" / "ranking"  # real text nobody here wrote (its README)
CORPORA = ("20newsgroups_bydate.jsonl", "bbc_news.jsonl", "ag_news_test.jsonl")
STOP = set(
    "the a an of and to in for on with at from by about into over after before is are was were be"
    " been it its this that as or not but has have had he she they we you i his her their our will"
    " would can could more new says said say up out one two than what who how all no if so do does"
    " re subject writes article your please need needed help question questions wanted good first"
    " where back read looking down once some next long time info".split()
)
#: real topic words: each is a topic of the labelled data above, so each matches a share of the
#: items like a curator's query does (not the half of them a made-up vocabulary matches)
QUERIES = ("space shuttle", "oil prices", "hockey", "middle east", "graphics card", "election")
CURATORS = 10
COLLECTIONS = 10
PER_COLLECTION = 50


def documents() -> tuple[list[tuple[str, str]], list[str]]:
    """(title, body) of every document of the labelled collections, read by path, and their
    topic names (``rec.sport.hockey`` → ``hockey``)."""
    docs, topics = [], {}
    for name in CORPORA:
        with open(DATA / name, encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                body = " ".join(doc["body"].split())[:4000]
                if body:
                    docs.append(((doc.get("title") or "").strip()[:200], body))
                for topic in doc.get("topics", ()):
                    topics[re.split(r"[./]", topic.lower())[-1]] = None
    return docs, [t for t in topics if len(t) > 2 and t not in ("misc", "forsale")]


def topic_words(docs: list[tuple[str, str]], topics: list[str], n: int = 150) -> list[str]:
    """The topic names, then the ``n`` commonest title words of the documents (stop words and
    short words left out): what the learners' declared interests are made of."""
    counts: dict[str, int] = {}
    for title, _ in docs:
        for word in set(re.findall(r"[a-z]{4,}", title.lower())):
            if word not in STOP:
                counts[word] = counts.get(word, 0) + 1
    return [*topics, *sorted(counts, key=lambda w: (-counts[w], w))[:n]]


def phrases(n: int, topics: list[str]) -> list[str]:
    """``n`` distinct interest phrases: single topics first, then pairs (the long tail)."""
    out = list(dict.fromkeys(topics))
    rnd = random.Random(3)
    while len(out) < n:
        pair = f"{rnd.choice(topics)} {rnd.choice(topics)}"
        if pair not in out and pair.split()[0] != pair.split()[1]:
            out.append(pair)
    return out[:n]


def seed(url: str, args) -> dict:  # noqa: ANN001
    """Fill a fresh database; returns the curator's key and ids to request."""
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    store = Store(engine)
    rnd = random.Random(7)
    now = datetime.now(UTC)
    docs, topics = documents()
    rnd.shuffle(docs)  # the collections' topics mixed over the sources and days
    sources = [
        store.add_source(f"https://feeds{i}.example.org/rss").id for i in range(args.sources)
    ]
    per = args.items // len(sources)
    for n, s in enumerate(sources):
        items = []
        for j in range(per):
            title, body = docs[(n * per + j) % len(docs)]
            title = title or body[:60]
            summary = f"<p>{html.escape(body[:300])}</p>"
            items.append(bench_item(s, j, title, body, now=now, summary_html=summary))
        # spread over 40 days, oldest first: ids rise with time, as ingest stores them (stored
        # the other way round, the model fitted on the last 30 days would leave out the
        # highest ids, and every process would add a quarter of the items to it at start-up)
        seen = now - timedelta(days=40 * (len(sources) - 1 - n) / len(sources), minutes=1)
        store.save_feeds([FeedWrite(s, items)], now=seen, next_attempt_at=now + timedelta(days=1))
    print(f"  {args.items} items stored: {time.perf_counter() - started:.0f} s", flush=True)

    with engine.connect() as conn:
        item_ids = conn.execute(select(Item.id).order_by(Item.id)).scalars().all()
    domain = make_curation(Settings(database_url=url), engine=engine)
    keys = []
    curator_ids = []
    for c in range(CURATORS):
        record, key = domain.people.create(
            NewPerson(email=f"curator{c}@example.org", name=f"Curator {c}", role="curator")
        )
        keys.append(key)
        curator_ids.append(record.id)

    pool = phrases(args.phrases, topic_words(docs, topics))
    weights = [1 / (1 + i) for i in range(len(pool))]  # a few popular interests, a long tail
    with engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "email": f"p{i}@example.org",
                    "name": f"Person {i}",
                    "role": "learner",
                    "timezone": "UTC",
                    "digest_hour": 7,
                    "email_digests": True,
                    "created_at": now,
                }
                for i in range(args.people)
            ],
        )
        people = conn.execute(select(Person.id).where(Person.role == "learner")).scalars().all()
        interests = []
        for pid in people:
            for phrase in set(rnd.choices(pool, weights, k=3)):
                interests.append({"person_id": pid, "phrase": phrase, "weight": 1.0})
        conn.execute(insert(Interest), interests)
        gem_items = rnd.sample(item_ids[-50_000:], args.gems)
        conn.execute(
            insert(Gem),
            [
                {
                    "item_id": i,
                    "curator_id": curator_ids[n % CURATORS],
                    "note": f"Worth reading, {n}",
                    "audience": "[]",
                    "created_at": now - timedelta(minutes=n),
                }
                for n, i in enumerate(gem_items)
            ],
        )
        digests = [
            {
                "person_id": pid,
                "day": "2026-12-01",
                "window_start": now - timedelta(days=1),
                "window_end": now,
                "created_at": now,
                "item_count": 5,
                "payload": "{}",
                "email_status": "sent",
                "email_attempts": 1,
                "email_sent_at": now - timedelta(hours=3),
            }
            for pid in people
        ]
        conn.execute(insert(Digest), digests)
        digest_of = dict(conn.execute(select(Digest.person_id, Digest.id)).all())
        recent = item_ids[-20_000:]
        lines, reactions, opens = [], [], []
        for pid in people:
            chosen = rnd.sample(recent, 4) + [rnd.choice(gem_items)]
            chosen = list(dict.fromkeys(chosen))
            lines += [
                {"digest_id": digest_of[pid], "person_id": pid, "item_id": i, "section": "for_you"}
                for i in chosen
            ]
            if rnd.random() < 0.5:
                signal = "useful" if rnd.random() < 0.7 else "not_useful"
                reactions.append(
                    {"person_id": pid, "item_id": chosen[0], "signal": signal, "created_at": now}
                )
            if rnd.random() < 0.4:
                opens.append({"person_id": pid, "item_id": chosen[-1], "opened_at": now})
        conn.execute(insert(DigestItem), lines)
        conn.execute(insert(Feedback), reactions)
        conn.execute(insert(ItemOpen), opens)
    with engine.connect() as conn:
        gem_ids = conn.execute(select(Gem.id).order_by(Gem.id)).scalars().all()
    collections = []
    for c in range(COLLECTIONS):
        made = domain.collections.create(f"Collection {c}", "For the bench", curator_ids[0])
        for gem in gem_ids[c * PER_COLLECTION : (c + 1) * PER_COLLECTION]:
            domain.collections.store.add_gem(made.id, gem, now=now)
        collections.append(made)
    print(
        f"  people, digests, gems, collections: {time.perf_counter() - started:.0f} s", flush=True
    )
    assert domain.refit(now), "no model fitted"
    print(f"  model fitted: {time.perf_counter() - started:.0f} s", flush=True)
    domain.close()
    token = collections[0].feed_url.rsplit("/", 1)[1].removesuffix(".atom")
    return {
        "key": keys[0],
        "item_id": gem_items[0],
        "collection_id": collections[0].id,
        "feed": f"/v1/feeds/{token}",
    }


def paths(seeded: dict) -> tuple[list[str], list[str]]:
    """The web pages and the API calls to measure."""
    item, collection = seeded["item_id"], seeded["collection_id"]
    pages = [
        "/",
        "/workspace/sources",
        *(f"/workspace/items?q={q.replace(' ', '+')}" for q in QUERIES[:2]),
        f"/workspace/items/{item}",
        "/workspace/gems",
        "/workspace/collections",
        f"/workspace/collections/{collection}",
        "/workspace/insights",
    ]
    api = [
        "/v1/insights/interests",
        "/v1/insights/sources",
        "/v1/insights/gems",
        f"/v1/insights/items/{item}",
        "/v1/collections",
        f"/v1/collections/{collection}",
        *(f"/v1/items?q={q.replace(' ', '+')}" for q in QUERIES[2:4]),
        seeded["feed"] + ".atom",
    ]
    return pages, api


async def measure(base: str, key: str, targets: list[str], requests: int, connections: int) -> dict:
    """p95 (ms) of each target: ``requests`` GETs over ``connections`` connections."""
    import aiohttp

    out: dict[str, float | str] = {}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections), cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        signed_in = await _sign_in(session, base, key)
        for target in ["/healthz", *targets]:
            if target.startswith("/workspace") or target == "/":
                if not signed_in:
                    out[target] = "no sign-in"
                    continue
                headers = {}
            else:
                headers = {"Authorization": f"Bearer {key}"}
            latencies: list[float] = []
            failed: list[int] = []
            left = [requests]
            await asyncio.gather(
                *(
                    _worker(session, base + target, headers, left, latencies, failed)
                    for _ in range(connections)
                )
            )
            if failed:
                out[target] = f"HTTP {failed[0]}"
                continue
            latencies.sort()
            out[target] = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] * 1000
    return out


async def _worker(session, url: str, headers: dict, left: list[int], latencies, failed) -> None:  # noqa: ANN001
    """GET ``url`` until ``left[0]`` requests have been sent (shared by the connections)."""
    while left[0] > 0:
        left[0] -= 1
        sent = time.perf_counter()
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            await resp.read()
            latencies.append(time.perf_counter() - sent)
            if resp.status >= 400:
                failed.append(resp.status)


async def _sign_in(session, base: str, key: str) -> bool:  # noqa: ANN001
    """API-key sign-in of the web pages (the CSRF field is read from the front page)."""
    async with session.get(base + "/") as resp:
        page = await resp.text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    form = {"api_key": key, **({"csrf": found.group(1)} if found else {})}
    async with session.post(base + "/sign-in/key", data=form, allow_redirects=False) as resp:
        if resp.status >= 400:
            return False
    async with session.get(base + "/workspace/sources", allow_redirects=False) as resp:
        return resp.status == 200


def measure_process(
    base: str, key: str, targets: list[str], requests: int, connections: int
) -> dict:
    """The client in its own process, so it does not share the server's interpreter."""
    return run_apart("bench.ui", "measure", base, key, targets, requests, connections)


def main() -> None:
    ap = make_parser(
        __doc__,
        items=100_000,
        people=10_000,
        gems=1_000,
        sources=100,
        phrases=400,
        requests=100,
        connections=8,
    )
    ap.add_argument("--db", default="", help="reuse (or keep) this SQLite file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "ui.db"
        url = f"sqlite:///{path}"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            upgrade(url)  # a file seeded by an older revision of the code
            seeded = json.loads(meta.read_text())
        else:
            print(f"seeding {path}", flush=True)
            seeded = seed(url, args)
            meta.write_text(json.dumps(seeded))
        pages, api = paths(seeded)
        refresh_insights(url)
        warm, runs = serve_and_measure(url, seeded["key"], pages + api, args)
    report(warm, runs, pages, api, args)


def refresh_insights(url: str) -> None:
    """What the scheduler of ``curation run`` or a worker's job does beside the API: the insight
    figures computed and stored now, so the API process serves them and does not recompute them
    during the measure (it would once they are twice CURATION_INSIGHT_CACHE_SECONDS old)."""
    started = time.perf_counter()
    curation = make_curation(Settings(database_url=url))
    try:
        done = curation.insights.refresh(force=True)
    finally:
        curation.close()
    print(f"insight figures computed ({', '.join(done)}): {time.perf_counter() - started:.1f} s")


def serve_and_measure(url: str, key: str, targets: list[str], args) -> tuple[dict, list[dict]]:  # noqa: ANN001
    port = free_port()
    env = {
        **os.environ,
        "CURATION_DATABASE_URL": url,
        "CURATION_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CURATION_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        # one client, one key: the rate limits would answer 429
        "CURATION_RATE_LIMIT_PER_KEY": "0",
        "CURATION_RATE_LIMIT_PER_ADDRESS": "0",
        "CURATION_RATE_LIMIT_SIGN_IN": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        started = time.perf_counter()
        warm = measure_process(base, key, targets, 1, 1)  # first use: model load, caches
        print(f"warm-up (first request of each, {time.perf_counter() - started:.1f} s): {warm}")
        runs = []
        for run in range(args.runs):
            runs.append(measure_process(base, key, targets, args.requests, args.connections))
            print(f"run {run + 1}: " + json.dumps(runs[-1]), flush=True)
    finally:
        server.terminate()
        server.wait()
    return warm, runs


def report(warm: dict, runs: list[dict], pages: list[str], api: list[str], args) -> None:  # noqa: ANN001
    """Each path's p95 (median of the runs), its ratio to healthz's, and its very first request
    (cold: the process loads the ranking model, caches are empty)."""

    def med(target: str) -> float | str:
        values = [r[target] for r in runs]
        numbers = [v for v in values if isinstance(v, float | int)]
        return statistics.median(numbers) if len(numbers) == len(values) else str(values[0])

    health = med("/healthz")
    print(
        f"\n{args.items} items, {args.people} people, {args.gems} gems; p95 in ms, medians of"
        f" {args.runs} runs of {args.requests} requests over {args.connections} connections"
    )
    print(f"  {'path':<48} {'p95':>8}  {'ratio':>13}  {'':8}  {'first':>8}")
    print(f"  {'GET /healthz':<48} {health:8.1f}")
    for title, group in (("web pages", pages), ("API", api)):
        print(f" {title}:")
        for target in group:
            value = med(target)
            if isinstance(value, str):
                print(f"  {target:<48} {value}")
                continue
            ratio = value / health if health else float("inf")
            mark = "ok" if ratio <= 10 else "OVER 10x"
            first = warm.get(target)
            cold = f"{first:8.1f}" if isinstance(first, float | int) else str(first)
            print(f"  {target:<48} {value:8.1f}  {ratio:5.1f}x healthz  {mark:8}  {cold}")


if __name__ == "__main__":
    main()
