"""One process's share of a cycle: claim sources, fetch them, clean them, store them in groups.

:func:`process_sources` is the whole pipeline for the sources a :data:`Claim` hands out. The
cycle runs it in this process for small batches (:func:`claims_from` over the whole list) and in
each worker process for big ones (:mod:`curation.ingest.workers`), where a :class:`Turn` makes
the processes take turns writing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from curation.ingest.document import clean_fetched
from curation.ingest.fetch import Fetcher
from curation.ingest.netpolicy import mask_credentials
from curation.ingest.outcomes import Report
from curation.ingest.persist import Fetched, Ingestor
from curation.ingest.records import FetchResult
from curation.settings import Settings
from curation.storage.feeds import Store
from curation.storage.sources import SourceRecord

__all__ = ["ALWAYS_FREE", "Claim", "Turn", "claims_from", "process_sources"]

log = logging.getLogger(__name__)

_GROUP_SIZE = 50  # fetched feeds stored per transaction, when the store is free
_MAX_GROUP = 100  # ... and at most this many while another process is writing
_GROUP_WAIT = 0.2  # seconds a finished feed may wait for others to share its commit
_CLAIM = 8  # sources a process claims at a time, once its first fetch_concurrency are out
_LOW_WATER = 8  # ... when fewer downloaded feeds than this wait to be cleaned

Claim = Callable[[int], Sequence[SourceRecord]]  # 1 to n more sources to process; [] at the end


def claims_from(sources: Sequence[SourceRecord]) -> Claim:
    """Claims over a list this process has to itself."""
    it = iter(sources)
    return lambda n: list(itertools.islice(it, n))


class Turn(Protocol):
    """The right to write to the store, for processes that share it."""

    def take(self, *, wait: bool) -> bool:
        """Take the turn; without ``wait``, only when it is free right now."""
        ...

    def give_back(self) -> None: ...


class _AlwaysFree:
    """The turn of a process that writes alone."""

    def take(self, *, wait: bool) -> bool:
        return True

    def give_back(self) -> None:
        pass


ALWAYS_FREE: Turn = _AlwaysFree()


async def process_sources(
    store: Store,
    settings: Settings,
    claim: Claim,
    now: datetime,
    report: Report,
    turn: Turn = ALWAYS_FREE,
) -> None:
    """Fetch, clean and store the sources ``claim`` hands out; ``report`` hears every outcome.

    Sources are claimed a few at a time, as fetched feeds get cleaned, so that processes sharing
    a batch finish together. Downloads run concurrently (up to ``fetch_concurrency``); between
    them the feeds that have arrived are cleaned one at a time and stored a group per
    transaction: a group is ready at ``_GROUP_SIZE`` feeds, or ``_GROUP_WAIT`` seconds after its
    first, or when nothing is left to fetch. With a ``turn`` (processes sharing a SQLite file) a
    ready group waits for the write turn only when there is nothing else to do; while another
    process writes, this one cleans on, up to ``_MAX_GROUP`` feeds.
    """
    loop = asyncio.get_running_loop()
    ingestor = Ingestor(store, settings, now)
    fetched: asyncio.Queue[tuple[SourceRecord, FetchResult]] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()

    async def fetch(src: SourceRecord) -> None:
        try:
            result = await fetcher.fetch(src.url, etag=src.etag, last_modified=src.last_modified)
        except Exception as exc:  # every source reports back, whatever happened
            log.exception("could not fetch %s", mask_credentials(src.url))
            result = FetchResult(url=src.url, status=0, error=f"internal error: {exc!r}")
        fetched.put_nowait((src, result))

    remaining = 0  # claimed, not yet taken from the queue (downloading or downloaded)
    exhausted = False  # nothing more to claim
    pending: list[Fetched] = []  # cleaned, not yet stored
    deadline = 0.0

    def claim_more(n: int) -> None:
        nonlocal remaining, exhausted
        sources = claim(n)
        exhausted = not sources
        remaining += len(sources)
        for src in sources:
            task = asyncio.create_task(fetch(src))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    concurrency = settings.fetch_concurrency
    async with Fetcher(settings) as fetcher:
        try:
            claim_more(concurrency)
            while remaining or pending or not exhausted:
                downloading = remaining - fetched.qsize()
                if not exhausted and fetched.qsize() < _LOW_WATER and downloading < concurrency:
                    claim_more(min(_CLAIM, concurrency - downloading))
                more = remaining or not exhausted
                # near the end, small groups: the last commits of the processes cannot overlap
                size = _CLAIM if exhausted else _GROUP_SIZE
                if pending and (not more or len(pending) >= size or loop.time() >= deadline):
                    more_at_hand = not fetched.empty() and len(pending) < _MAX_GROUP
                    if turn.take(wait=not more_at_hand):
                        try:
                            outcomes = ingestor.apply(pending)
                        finally:
                            turn.give_back()
                        pending = []
                        report(outcomes)
                        continue
                if not remaining:
                    continue
                if not fetched.empty():
                    src, result = fetched.get_nowait()
                elif not pending:
                    src, result = await fetched.get()
                else:
                    try:
                        src, result = await asyncio.wait_for(fetched.get(), deadline - loop.time())
                    except TimeoutError:
                        continue
                remaining -= 1
                pending.append((src, result, clean_fetched(src, result, settings, now)))
                if len(pending) == 1:
                    deadline = loop.time() + _GROUP_WAIT
                await asyncio.sleep(0)  # let the downloads in flight move on
        finally:
            for task in tasks:
                task.cancel()
    turn.take(wait=True)
    try:
        ingestor.flush()
    finally:
        turn.give_back()
