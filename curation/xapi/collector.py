"""The collector: events since the last watermark become queued statements, set-based.

Four sources, each read in pages (:data:`~curation.storage.xapi.PAGE` rows per query) from a
little before its watermark (the overlap catches rows that committed late; they make the same
statement ids, which the outbox keeps once):

- ``received``: every item recorded in a person's digest (``digest_item``);
- ``reactions``: useful / not for me / saved (``feedback``; a repeated reaction at a new time is
  a new statement);
- ``opened``: counted opens of items from digest e-mails (``item_open``);
- ``shared``: items passed on to a team (``share``).

Nothing here edits the digest or feedback code: it only reads what they recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from curation.storage.xapi import OVERLAP_IDS, OVERLAP_TIME, PAGE, Event, XapiStore
from curation.xapi.statements import statement

MAX_PAGES = 500  # per source and run: a bounded loop (1,000,000 events), the next run goes on


@dataclass(frozen=True, slots=True)
class CollectReport:
    read: int
    queued: int


def _by_id(
    store: XapiStore,
    name: str,
    read: Callable[[int], tuple[list[Event], int]],
    enqueue: Callable[[list[Event]], int],
) -> tuple[int, int]:
    start = store.watermark(name)
    cursor = max(0, start - OVERLAP_IDS)
    seen = queued = 0
    for _ in range(MAX_PAGES):
        events, cursor = read(cursor)
        seen += len(events)
        queued += enqueue(events)
        if len(events) < PAGE:
            break
    if cursor > start:
        store.set_watermark(name, cursor)
    return seen, queued


def _reactions(store: XapiStore, enqueue: Callable[[list[Event]], int]) -> tuple[int, int]:
    name = "reactions"
    start = store.watermark(name)
    overlap = OVERLAP_TIME // timedelta(microseconds=1)
    key = (max(0, start - overlap), 0)
    seen = queued = 0
    for _ in range(MAX_PAGES):
        events, key = store.reactions(key)
        seen += len(events)
        queued += enqueue(events)
        if len(events) < PAGE:
            break
    if key[0] > start:
        store.set_watermark(name, key[0])
    return seen, queued


def collect(store: XapiStore, *, base_url: str, now: datetime) -> CollectReport:
    """Queue the statements of every event not collected yet (safe to run again)."""

    def enqueue(events: list[Event]) -> int:
        rows = []
        for event in events:
            body = statement(event, base_url=base_url)
            rows.append((body["id"], json.dumps(body, ensure_ascii=False, sort_keys=True)))
        return store.enqueue(rows, now=now) if rows else 0

    read = queued = 0
    sources = (("received", store.received), ("opened", store.opened), ("shared", store.shared))
    for name, source in sources:
        n, q = _by_id(store, name, source, enqueue)
        read, queued = read + n, queued + q
    n, q = _reactions(store, enqueue)
    return CollectReport(read + n, queued + q)
