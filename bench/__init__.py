"""Benchmarks, each a script (``python bench/ingest.py``); here, what the scripts share."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_parser(doc: str, **sizes: float) -> argparse.ArgumentParser:
    """A bench's command line: described by the first line of ``doc``, with ``--runs`` (3 by
    default) and one ``--NAME`` per entry of ``sizes``, taking the type and default of its value
    (``naive_people=500`` → ``--naive-people``, an int, 500)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in sizes.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    parser.add_argument("--runs", type=int, default=3)
    return parser


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_apart(module: str, function: str, *args: object) -> dict:
    """``asyncio.run(module.function(*args))`` in a process of its own (a load generator must
    not share the measured server's interpreter); its JSON answer."""
    call = ", ".join(repr(a) for a in args)
    code = (
        f"import asyncio, json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        f"from {module} import {function}; print(json.dumps(asyncio.run({function}({call}))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_item(source_id: int, j: int, title: str, text: str, *, now: datetime, summary_html: str):  # noqa: ANN201
    """The ``j``-th item of source ``source_id``, ready for the store (a ``CleanItem``):
    its own canonical URL, published ``j`` minutes before ``now``."""
    from curation.ingest.records import CleanItem  # the benches put the project on the path first

    return CleanItem(
        guid=f"{source_id}-{j}",
        dedupe_key=f"https://site{source_id}.example.org/{j}",
        title=title,
        url=f"https://site{source_id}.example.org/{j}",
        summary_html=summary_html,
        content_html="",
        text=text,
        author=None,
        published_at=now - timedelta(minutes=j),
        updated_at=None,
        content_hash=f"{source_id}-{j}",
    )
