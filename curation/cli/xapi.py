"""``curation xapi flush`` and ``curation xapi status``: xAPI statements for the LRS.

``flush`` collects the events not queued yet into the outbox, then (when ``CURATION_XAPI_URL``
is set) sends what is due in batches; it exits 1 when the LRS failed (nothing is lost: the
statements stay queued and the next flush, or the scheduler, sends them after a backoff).
``status`` prints how many statements are pending and sent.
"""

from __future__ import annotations

import argparse

from curation.services import make_curation
from curation.settings import Settings


def cmd_xapi_flush(args: argparse.Namespace, settings: Settings) -> int:
    curation = make_curation(settings)
    try:
        run = curation.xapi.run()
    finally:
        curation.close()
    print(run.line())
    return 1 if run.flushed is not None and run.flushed.failed else 0


def cmd_xapi_status(args: argparse.Namespace, settings: Settings) -> int:
    curation = make_curation(settings)
    try:
        counts = curation.xapi.store.counts()
    finally:
        curation.close()
    print(f"{counts.get('pending', 0)} statements pending, {counts.get('sent', 0)} sent")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    xapi = sub.add_parser(
        "xapi", help="xAPI statements for a learning record store"
    ).add_subparsers(dest="xapi_command", required=True)
    flush = xapi.add_parser("flush", help="queue new statements and send what is due to the LRS")
    flush.set_defaults(func=cmd_xapi_flush)
    status = xapi.add_parser("status", help="how many statements are pending and sent")
    status.set_defaults(func=cmd_xapi_status)
