"""The daily batch end to end: every digest due now, built, recorded and written to the outbox.

Per database (``--db sqlite|postgres|both``; PostgreSQL from ``CURATION_BENCH_POSTGRES_URL`` or
``CURATION_TEST_POSTGRES_URL``, skipped with a message when neither is set):

* setup (not timed): ``--items`` entries of real text (../shared/data/ranking/, ~1.3 KB each)
  served by bench/feedhost.py as 50 local feeds and ingested through the product (which fits
  the ranking model); ``--people`` people with 1–3 interests each drawn from the collections'
  topics (newsgroup names, BBC and AG News sections), all due now, e-mail to the outbox;
* timed, ``--runs`` times on a fresh process state (digests deleted, a new ``Curation``):
  ``Curation.run_digests`` — what ``curation digests send`` runs — from the first query to the
  last message in the outbox: digests/s, seconds until every digest with items is in the
  outbox, the first message's time, and the peak resident memory (VmHWM, reset before; and
  the largest child process: e-mail senders, ``CURATION_EMAIL_SENDER_PROCESSES``, or the
  setup's ingest workers);
* in the same run, the ranking core alone (``build_profiles`` + ``rank_all`` of
  bench/rank_speed.py) on the same people × items, for comparison.

With ``--workers N`` (PostgreSQL only) the timed part is the scaled-out path instead: a round
enqueued as ``curation jobs enqueue`` does, and N ``curation worker`` processes (procrastinate)
building the digest chunks and writing the e-mails; timed from the enqueue until every digest
job has finished (all digests recorded) and until the last delivery job has finished (all in
the outbox); the peak resident memory of each worker process (VmHWM).

    python bench/digests.py --people 10000 --items 5000 --db both --runs 3
    python bench/digests.py --people 100000 --items 5000 --db postgres --workers 2 --runs 1
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ is first on sys.path and bench/email.py would shadow the stdlib
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import hashlib  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import numpy as np  # noqa: E402
from sqlalchemy import delete, insert, text  # noqa: E402

from bench import make_parser  # noqa: E402
from bench.quality import COLLECTIONS, load, readable  # noqa: E402
from bench.rank_speed import memory_kib, reset_peak  # noqa: E402
from curation.ingest.opml import OPMLSource  # noqa: E402
from curation.jobs.connector import ensure_schema  # noqa: E402
from curation.rank import build_profiles, rank_all  # noqa: E402
from curation.rank.recommender import _query  # noqa: E402
from curation.services import make_curation  # noqa: E402
from curation.settings import Settings  # noqa: E402
from curation.storage.engine import upgrade  # noqa: E402
from curation.storage.scratch import scratch_database  # noqa: E402
from curation.storage.tables import Digest, DigestItem, Interest, Person  # noqa: E402

FEEDS = 50


def topics() -> list[str]:
    """Every topic of the three collections as a person would name it (27 phrases)."""
    found: dict[str, None] = {}
    for name in COLLECTIONS:
        for doc in load(name):
            for topic in doc.topics:
                found.setdefault(readable(name, topic), None)
    return list(found)


@contextmanager
def feed_host(items: int, newest: datetime) -> Iterator[str]:
    entries = -(-items // FEEDS)
    host = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "feedhost.py"), "--feeds", str(FEEDS)]
        + ["--entries", str(entries), "--newest", newest.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = host.stdout.readline().split()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        host.terminate()
        host.wait()


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'digests-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = os.environ.get("CURATION_BENCH_POSTGRES_URL") or os.environ.get(
        "CURATION_TEST_POSTGRES_URL"
    )
    assert base
    with scratch_database(base, "curation_bench") as url:
        yield url


def add_people(settings: Settings, n: int, phrases: list[str], now: datetime) -> None:
    """``n`` people, 1–3 interests each, digest hour 0 in UTC (so all due now); bulk rows."""
    rng = np.random.default_rng(16)
    engine = make_curation(settings).engine
    people, interests = [], []
    for k in range(n):
        people.append(
            {
                "id": k + 1,
                "email": f"p{k}@example.org",
                "name": f"Person {k}",
                "role": "learner",
                "timezone": "UTC",
                "digest_hour": 0,
                "email_digests": True,
                "api_key_hash": hashlib.sha256(f"key-{k}".encode()).hexdigest(),
                "created_at": now,
            }
        )
        for phrase in rng.choice(phrases, size=int(rng.integers(1, 4)), replace=False):
            interests.append({"person_id": k + 1, "phrase": str(phrase), "weight": 1.0})
    with engine.begin() as conn:
        conn.execute(insert(Person.__table__), people)
        conn.execute(insert(Interest.__table__), interests)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('person_id_seq', (SELECT max(id) FROM person))"))
    engine.dispose()


def setup(url: str, workdir: Path, base: str, args, now: datetime) -> Settings:  # noqa: ANN001
    settings = Settings(
        database_url=url,
        fetch_allow_hosts="127.0.0.1",
        outbox_dir=str(workdir / "outbox"),
        secret_key="bench-secret-key-0123456789abcdef",
        rank_max_items=max(20_000, args.items * 2),
    )
    upgrade(url)
    c = make_curation(settings)
    entries = -(-args.items // FEEDS)
    c.store.import_sources(
        OPMLSource(url=f"{base}/feed/{i}.xml", title=None, category=(), html_url=None)
        for i in range(FEEDS)
    )
    t0 = time.perf_counter()
    summary = c.ingest(now=now)
    print(
        f"  setup: ingested {summary.new_items} items ({FEEDS} feeds × {entries}) in "
        f"{time.perf_counter() - t0:.1f} s; model ready: {c.recommender.ready()}",
        flush=True,
    )
    c.close()
    add_people(settings, args.people, topics(), now)
    return settings


def reset(settings: Settings) -> None:
    c = make_curation(settings)
    with c.engine.begin() as conn:
        conn.execute(delete(DigestItem.__table__))
        conn.execute(delete(Digest.__table__))
    c.close()
    shutil.rmtree(settings.outbox_dir, ignore_errors=True)
    Path(settings.outbox_dir).mkdir(parents=True)


def one_run(settings: Settings, now: datetime) -> dict:
    reset(settings)
    reset_peak()
    c = make_curation(settings)
    t0 = time.time()
    run = c.run_digests(now)
    elapsed = time.time() - t0
    peak = memory_kib("VmHWM") / 1024
    # the largest child process so far: the e-mail senders (joined by now), but also the
    # setup's ingest workers, so an upper bound
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    stamps = sorted(p.stat().st_mtime for p in Path(settings.outbox_dir).glob("*.eml"))
    c.close()
    return {
        "built": run.built,
        "sent": run.delivery.sent,
        "empty": run.delivery.empty,
        "seconds": elapsed,
        "digests_per_s": run.built / elapsed,
        "first_mail_s": (stamps[0] - t0) if stamps else float("nan"),
        "all_mail_s": (stamps[-1] - t0) if stamps else float("nan"),
        "peak_mib": peak,
        "sender_peak_mib": children,
    }


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of a ``curation`` command line process with the bench's settings."""
    return {
        **os.environ,
        "CURATION_DATABASE_URL": settings.database_url,
        "CURATION_FETCH_ALLOW_HOSTS": settings.fetch_allow_hosts,
        "CURATION_OUTBOX_DIR": settings.outbox_dir,
        "CURATION_SECRET_KEY": settings.secret_key.get_secret_value(),
        "CURATION_RANK_MAX_ITEMS": str(settings.rank_max_items),
    }


def _open_jobs(engine) -> Counter:  # noqa: ANN001
    """Jobs waiting or running, by queue."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT queue_name, count(*) FROM procrastinate_jobs"
                " WHERE status IN ('todo', 'doing') GROUP BY queue_name"
            )
        )
        return Counter(dict(rows.all()))


def _vmhwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def jobs_run(settings: Settings, workers: int, limit_s: float = 3600.0) -> dict:
    """The batch as jobs: enqueue a round, ``workers`` ``curation worker`` processes run it."""
    reset(settings)
    cli = str(Path(sys.executable).parent / "curation")
    env = worker_env(settings)
    ensure_schema(settings)  # procrastinate's tables, as `curation worker` makes them
    c = make_curation(settings)
    with c.engine.begin() as conn:  # a fresh queue: nothing left from an earlier run
        conn.execute(text("DELETE FROM procrastinate_jobs"))
    procs = [
        subprocess.Popen(
            [cli, "worker", "--no-periodic", "--name", f"bench-{n}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    try:
        time.sleep(3)  # the workers' start-up (imports, services) is not the batch's cost
        t0 = time.time()
        subprocess.run([cli, "jobs", "enqueue"], env=env, check=True, capture_output=True)
        built_s = delivered_s = None
        while time.time() - t0 < limit_s:
            time.sleep(1)
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited during the batch")
            waiting = _open_jobs(c.engine)
            if built_s is None and not waiting["digests"]:
                built_s = time.time() - t0
            if built_s is not None and not waiting["deliver"]:
                delivered_s = time.time() - t0
                break
        peaks = [_vmhwm_mib(p.pid) for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    with c.engine.connect() as conn:
        built = conn.execute(text("SELECT count(*) FROM digest")).scalar_one()
        with_items = conn.execute(
            text("SELECT count(DISTINCT digest_id) FROM digest_item")
        ).scalar_one()
    c.close()
    sent = len(list(Path(settings.outbox_dir).glob("*.eml")))
    return {
        "built": built,
        "with_items": with_items,
        "sent": sent,
        "built_s": built_s or float("nan"),
        "digests_per_s": built / built_s if built_s else float("nan"),
        "delivered_s": delivered_s or float("nan"),
        "worker_peak_mib": max(peaks),
        "peaks": " ".join(f"{m:.0f}" for m in peaks),
    }


def core_run(settings: Settings, now: datetime) -> dict:
    """The ranking core alone on the same people × items (bench/rank_speed.py's hot path)."""
    c = make_curation(settings)
    model = c.recommender.model()
    people = [_query(p, ()) for p in c.people.all()]
    ids = [str(i) for i in c.ranking.first_seen_ids(now - timedelta(days=1), now)]
    config = c.recommender.config
    reset_peak()
    t0 = time.perf_counter()
    profiles = build_profiles(model, people, config)
    t1 = time.perf_counter()
    ranked = rank_all(
        model, people, now, config, settings.digest_max_items * 3, profiles=profiles, item_ids=ids
    )
    t2 = time.perf_counter()
    c.close()
    return {
        "profiles_s": t1 - t0,
        "rank_s": t2 - t1,
        "filled": sum(1 for r in ranked.values() if r),
        "items": len(ids),
        "peak_mib": memory_kib("VmHWM") / 1024,
    }


def main() -> None:
    ap = make_parser(__doc__, people=10_000, items=5_000)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="PostgreSQL only: run the batch as jobs on this many `curation worker` processes",
    )
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if args.workers and "sqlite" in kinds:
        print("sqlite: skipped (--workers runs the PostgreSQL job queue)")
        kinds.remove("sqlite")
    if "postgres" in kinds and not (
        os.environ.get("CURATION_BENCH_POSTGRES_URL")
        or os.environ.get("CURATION_TEST_POSTGRES_URL")
    ):
        print("postgres: skipped (set CURATION_BENCH_POSTGRES_URL or CURATION_TEST_POSTGRES_URL)")
        kinds.remove("postgres")
    now = datetime.now(UTC).replace(microsecond=0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        feed_host(args.items, now - timedelta(minutes=5)) as base,
    ):
        for kind in kinds:
            with database(kind, Path(tmp)) as url:
                print(f"{kind}: {args.people} people × {args.items} items", flush=True)
                settings = setup(url, Path(tmp) / kind, base, args, now)
                later = now + timedelta(minutes=1)
                runs = []
                for n in range(args.runs):
                    if args.workers:
                        runs.append(jobs_run(settings, args.workers))
                    else:
                        runs.append(one_run(settings, later))
                    print(f"  run {n + 1}: {fmt(runs[-1])}", flush=True)
                core = [core_run(settings, later) for _ in range(args.runs)]
                if args.workers:
                    report_jobs(kind, args, runs, core)
                else:
                    report(kind, args, runs, core)


def fmt(row: dict) -> str:
    return ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def report(kind: str, args, runs: list[dict], core: list[dict]) -> None:  # noqa: ANN001
    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"\n{kind}: {args.people} people × {args.items} items, medians of {args.runs} runs")
    print(
        f"  daily batch : {med(runs, 'seconds'):6.1f} s  {med(runs, 'digests_per_s'):7.0f} digests/s"
        f"  built {med(runs, 'built'):.0f}, sent {med(runs, 'sent'):.0f}, empty {med(runs, 'empty'):.0f}"
    )
    print(
        f"  outbox      : first message after {med(runs, 'first_mail_s'):.1f} s, "
        f"all after {med(runs, 'all_mail_s'):.1f} s (target ≤ 60 s)"
    )
    print(
        f"  peak memory : {med(runs, 'peak_mib'):.0f} MiB (VmHWM of this process; target ≤ 1536"
        f" MiB); largest child process {med(runs, 'sender_peak_mib'):.0f} MiB (senders, and"
        " the setup's ingest workers)"
    )
    print(
        f"  core alone  : profiles {med(core, 'profiles_s'):.2f} s + rank_all "
        f"{med(core, 'rank_s'):.2f} s on {med(core, 'items'):.0f} items "
        f"({med(core, 'filled'):.0f} non-empty), peak {med(core, 'peak_mib'):.0f} MiB"
    )


def report_jobs(kind: str, args, runs: list[dict], core: list[dict]) -> None:  # noqa: ANN001
    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(
        f"\n{kind}: {args.people} people × {args.items} items as jobs on {args.workers}"
        f" `curation worker` processes, medians of {args.runs} runs"
    )
    print(
        f"  digests     : all recorded after {med(runs, 'built_s'):.0f} s,"
        f" {med(runs, 'digests_per_s'):.0f} digests/s (built {med(runs, 'built'):.0f},"
        f" {med(runs, 'with_items'):.0f} with items)"
    )
    print(
        f"  outbox      : every delivery job done after {med(runs, 'delivered_s'):.0f} s,"
        f" {med(runs, 'sent'):.0f} messages"
    )
    print(f"  peak memory : {med(runs, 'worker_peak_mib'):.0f} MiB per worker (VmHWM, largest)")
    print(
        f"  core alone  : profiles {med(core, 'profiles_s'):.2f} s + rank_all "
        f"{med(core, 'rank_s'):.2f} s on {med(core, 'items'):.0f} items "
        f"({med(core, 'filled'):.0f} non-empty), peak {med(core, 'peak_mib'):.0f} MiB"
    )


if __name__ == "__main__":
    main()
