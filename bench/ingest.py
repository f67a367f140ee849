"""Ingest benchmark: curation against lemon24/reader on the same feeds, in the same run.

Generates N feeds × M entries, serves them from a real HTTP server in another process
(bench/feedhost.py), ingests them cold into a fresh SQLite database, then re-polls
(every feed unchanged: 304s, no bodies). Each peer runs --runs times; medians are printed.
Entries carry real text (``--text real``, the default: the collections of
../shared/data/ranking/, ~1.3 KB per entry); ``--text vocab`` is the old 35-word vocabulary,
which flatters full-text indexing.

What each side does: reader parses with feedparser and stores entries, without its full-text
search (off by default); we parse, sanitise, keep plain text and index title and text in SQLite
FTS5 in the same transaction. reader runs with ``update_feeds(workers=1)``, its default and its
fastest here (4 and 16 threads measured slower: its parsing holds the GIL).

    pip install -e '.[bench]'        # reader and rank-bm25
    python bench/ingest.py --feeds 500 --entries 50 --runs 3
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ is first on the path, where bench/email.py would shadow the stdlib
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse
import contextlib
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import make_parser  # noqa: E402
from curation.ingest.opml import OPMLSource  # noqa: E402
from curation.ingest.pipeline import ingest  # noqa: E402
from curation.settings import Settings  # noqa: E402
from curation.storage.engine import make_engine, upgrade  # noqa: E402
from curation.storage.feeds import Store  # noqa: E402


def host_stats(base: str, reset: bool = False) -> dict:
    if reset:
        req = urllib.request.Request(base + "/reset", method="POST")
        return json.loads(urllib.request.urlopen(req).read())
    return json.loads(urllib.request.urlopen(base + "/stats").read())


def run_curation(urls: list[str], base: str, workdir: Path) -> dict:
    db = workdir / f"curation-{time.monotonic_ns()}.db"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        fetch_allow_hosts="127.0.0.1",
        fetch_per_host=100,
        fetch_concurrency=100,
    )
    upgrade(settings.database_url)
    store = Store(make_engine(settings.database_url))
    store.import_sources(OPMLSource(url=u, title=None, category=(), html_url=None) for u in urls)
    now = datetime.now(UTC)
    host0 = host_stats(base, reset=True)["cpu_s"]
    self0, kids0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cold = ingest(store, settings, now=now)
    cold_s = time.perf_counter() - t0
    host_cpu = host_stats(base)["cpu_s"] - host0
    # the worker processes are joined by the end of the cycle, so they count as children
    cpu_main, cpu_workers = (
        _cpu(resource.RUSAGE_SELF) - self0,
        _cpu(resource.RUSAGE_CHILDREN) - kids0,
    )
    segments = _search_segments(db)
    host_stats(base, reset=True)
    t0 = time.perf_counter()
    warm = ingest(store, settings, now=now + timedelta(minutes=settings.poll_interval_minutes + 1))
    warm_s = time.perf_counter() - t0
    stats = host_stats(base)
    return {
        "entries": cold.new_items,
        "failed": cold.count("error", "gone", "refused"),
        "cold_s": cold_s,
        "cpu_main_s": cpu_main,
        "cpu_workers_s": cpu_workers,
        "host_cpu_s": host_cpu,
        "search_segments": segments,
        "repoll_s": warm_s,
        "repoll_304": warm.count("not_modified"),
        "repoll_bodies": stats["200"],
    }


def _search_segments(db: Path) -> int:
    """The segments of the search index (FTS5) after a cycle: one per group a worker committed,
    until 16 sit on a level and FTS5 merges them (which costs ~9 µs per entry merged). A cold
    cycle of 500 feeds × 50 entries commits 10–12 groups, so none of its cost is a merge."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT count(DISTINCT segid) FROM item_fts_idx").fetchone()[0]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_reader(urls: list[str], base: str, workdir: Path, workers: int) -> dict:
    from reader import make_reader

    db = workdir / f"reader-{time.monotonic_ns()}.sqlite"
    reader = make_reader(str(db))
    for u in urls:
        reader.add_feed(u)
    host0 = host_stats(base, reset=True)["cpu_s"]
    cpu0 = _cpu(resource.RUSAGE_SELF)  # reader's threads run in this process
    t0 = time.perf_counter()
    reader.update_feeds(workers=workers)
    cold_s = time.perf_counter() - t0
    cpu = _cpu(resource.RUSAGE_SELF) - cpu0
    host_cpu = host_stats(base)["cpu_s"] - host0
    entries = reader.get_entry_counts().total
    host_stats(base, reset=True)
    t0 = time.perf_counter()
    reader.update_feeds(workers=workers, scheduled=False)  # poll now, as ours does
    warm_s = time.perf_counter() - t0
    stats = host_stats(base)
    reader.close()
    return {
        "entries": entries,
        "cold_s": cold_s,
        "cpu_s": cpu,
        "host_cpu_s": host_cpu,
        "repoll_s": warm_s,
        "repoll_bodies": stats["200"],
    }


def main() -> None:
    ap = make_parser(__doc__, feeds=500, entries=50)
    ap.add_argument(
        "--reader-workers",
        type=int,
        default=1,
        help="reader's update_feeds(workers=…); 1 is reader's default and its fastest here",
    )
    ap.add_argument("--skip-reader", action="store_true")
    ap.add_argument("--text", choices=("real", "vocab"), default="real", help="entry text")
    args = ap.parse_args()

    host = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "feedhost.py"),
            "--feeds",
            str(args.feeds),
            "--entries",
            str(args.entries),
            "--text",
            args.text,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = host.stdout.readline().split()  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{line[1]}"
        urls = [f"{base}/feed/{i}.xml" for i in range(args.feeds)]
        ours: list[dict] = []
        theirs: list[dict] = []
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(args.runs):
                ours.append(run_curation(urls, base, Path(tmp)))
                print(f"run {run + 1} curation: {ours[-1]}", flush=True)
                if not args.skip_reader:
                    theirs.append(run_reader(urls, base, Path(tmp), args.reader_workers))
                    print(f"run {run + 1} reader:   {theirs[-1]}", flush=True)
        report(args, ours, theirs)
    finally:
        host.terminate()
        host.wait()


def report(args: argparse.Namespace, ours: list[dict], theirs: list[dict]) -> None:
    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    total = args.feeds * args.entries
    print(
        f"\n{args.feeds} feeds × {args.entries} entries = {total} entries ({args.text} text),"
        f" {args.runs} runs, medians"
    )
    o_rate = med(ours, "entries") / med(ours, "cold_s")
    print(
        f"curation cold : {med(ours, 'cold_s'):7.2f} s  {o_rate:9.0f} entries/s  "
        f"(stored {med(ours, 'entries'):.0f}, failed sources {med(ours, 'failed'):.0f})"
    )
    main_cpu, workers_cpu = med(ours, "cpu_main_s"), med(ours, "cpu_workers_s")
    print(
        f"curation CPU  : main process {main_cpu:.2f} s + workers {workers_cpu:.2f} s = "
        f"{(main_cpu + workers_cpu) / total * 1e6:.0f} µs per entry"
    )
    # the feed server runs on the same cores: its CPU while a peer's cold cycle runs is time
    # that peer's processes could not have (reader's one busy core leaves it the other)
    print(f"feed server CPU during curation's cold cycle: {med(ours, 'host_cpu_s'):.2f} s")
    print(
        "curation search-index segments after each cold cycle (with the cycle's time): "
        + ", ".join(f"{r['search_segments']} ({r['cold_s']:.2f} s)" for r in ours)
    )
    print(
        f"curation re-poll: {med(ours, 'repoll_s'):5.2f} s  bodies transferred "
        f"{med(ours, 'repoll_bodies'):.0f}, 304s {med(ours, 'repoll_304'):.0f}"
    )
    if theirs:
        t_rate = med(theirs, "entries") / med(theirs, "cold_s")
        print(
            f"reader cold   : {med(theirs, 'cold_s'):7.2f} s  {t_rate:9.0f} entries/s  "
            f"(stored {med(theirs, 'entries'):.0f}; workers={args.reader_workers})"
        )
        t_cpu = med(theirs, "cpu_s") / med(theirs, "entries")
        print(f"reader CPU    : {med(theirs, 'cpu_s'):.2f} s = {t_cpu * 1e6:.0f} µs per entry")
        print(f"feed server CPU during reader's cold cycle: {med(theirs, 'host_cpu_s'):.2f} s")
        print(
            f"reader re-poll: {med(theirs, 'repoll_s'):7.2f} s  bodies transferred "
            f"{med(theirs, 'repoll_bodies'):.0f}"
        )
        print(f"ratio cold entries/s curation/reader: {o_rate / t_rate:.1f}×")
        # CPU per stored entry, all our processes against reader's: steadier than the clock
        # when other jobs share the machine (ours spreads over worker processes, reader's not)
        o_cpu = (main_cpu + workers_cpu) / med(ours, "entries")
        print(f"ratio CPU per entry reader/curation: {t_cpu / o_cpu:.1f}×")


if __name__ == "__main__":
    main()
