"""Benchmarks, each a script (``python bench/ingest.py``); here, what the scripts share."""

from __future__ import annotations

import argparse


def make_parser(doc: str, **sizes: float) -> argparse.ArgumentParser:
    """A bench's command line: described by the first line of ``doc``, with ``--runs`` (3 by
    default) and one ``--NAME`` per entry of ``sizes``, taking the type and default of its value
    (``naive_people=500`` → ``--naive-people``, an int, 500)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in sizes.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    parser.add_argument("--runs", type=int, default=3)
    return parser
