"""``curation worker`` and ``curation jobs enqueue``: the periodic work as jobs on PostgreSQL.

``curation worker`` runs jobs (:mod:`curation.jobs`) until SIGTERM or Ctrl-C; start any number,
on any number of machines. Each one also offers the periodic round every minute (``--no-periodic``
to leave that to others); the round is enqueued once whoever offers it. ``curation jobs enqueue``
enqueues a round now. Both create procrastinate's tables first if they are missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket

from curation.jobs.connector import ensure_schema
from curation.jobs.runner import enqueue_now, run_worker
from curation.longlived import settle
from curation.services import make_curation
from curation.settings import Settings
from curation.storage.schema import check_schema

QUEUES = ("schedule", "ingest", "rank", "digests", "deliver")


def _ready(settings: Settings) -> None:
    """procrastinate's tables, created if missing (SQLite is refused with a clear error). Our
    own migrations are the deploy step ``curation db upgrade``, run once, not by each worker."""
    ensure_schema(settings)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    _ready(settings)
    curation = make_curation(settings)
    check_schema(curation.engine)  # refuses to start before `curation db upgrade`
    settle()  # what lives as long as the process: out of the collector's full passes
    name = args.name or f"{socket.gethostname()}:{os.getpid()}"
    print(f"curation: worker {name} on queues {', '.join(args.queue or QUEUES)}", flush=True)
    try:
        asyncio.run(
            run_worker(
                curation,
                queues=args.queue,
                concurrency=args.concurrency,
                periodic=not args.no_periodic,
                name=name,
            )
        )
    finally:
        curation.close()
    return 0


def cmd_jobs_enqueue(args: argparse.Namespace, settings: Settings) -> int:
    _ready(settings)
    curation = make_curation(settings)
    try:
        print(asyncio.run(enqueue_now(curation)).line())
    finally:
        curation.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    worker = sub.add_parser(
        "worker", help="run jobs from the PostgreSQL queue (ingest, refit, digests, e-mail)"
    )
    worker.add_argument(
        "--queue",
        action="append",
        choices=QUEUES,
        help="only these queues (repeat the option); default: all",
    )
    worker.add_argument(
        "--concurrency", type=int, default=1, help="jobs run at once by this process (default 1)"
    )
    worker.add_argument(
        "--no-periodic", action="store_true", help="do not offer the every-minute round"
    )
    worker.add_argument("--name", help="shown in logs and procrastinate_workers (default host:pid)")
    worker.set_defaults(func=cmd_worker)

    jobs = sub.add_parser("jobs", help="the PostgreSQL job queue").add_subparsers(
        dest="jobs_command", required=True
    )
    enqueue = jobs.add_parser(
        "enqueue", help="enqueue a round of work now (safe to run anywhere, any number of times)"
    )
    enqueue.set_defaults(func=cmd_jobs_enqueue)
