"""One ingest cycle: due sources → fetch → parse → clean → store, with per-source outcomes.

Failures are data: each source's problem is recorded on its own row (status, last error,
error count, next attempt) and the rest of the batch goes on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from curation.clean import clean_entry
from curation.entries import CleanItem, FetchResult
from curation.errors import ParseError
from curation.fetch import Fetcher
from curation.parse import parse_feed
from curation.schedule import next_poll, next_retry
from curation.settings import Settings
from curation.store import FeedWrite, SourceRecord, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    source_id: int
    url: str
    status: str  # ok | not_modified | error | gone | refused
    new: int = 0
    updated: int = 0
    linked: int = 0
    skipped_entries: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IngestSummary:
    outcomes: tuple[SourceOutcome, ...]
    elapsed: float

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def new_items(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def updated_items(self) -> int:
        return sum(o.updated for o in self.outcomes)

    def line(self) -> str:
        return (
            f"{len(self.outcomes)} sources: {self.count('ok')} ok, "
            f"{self.count('not_modified')} not modified, "
            f"{self.count('error', 'gone', 'refused')} failed; "
            f"{self.new_items} new items, {self.updated_items} updated "
            f"in {self.elapsed:.2f} s"
        )


Progress = Callable[[SourceOutcome], None]


@dataclass(frozen=True, slots=True)
class CleanFeed:
    items: list[CleanItem]
    skipped: int  # entries that could not be cleaned (each logged)
    title: str | None
    link: str | None


def clean_feed(
    body: bytes,
    *,
    source_id: int,
    url: str,
    content_type: str | None,
    settings: Settings,
    now: datetime,
) -> CleanFeed:
    """Parse and clean one document (pure CPU work, safe to run in a worker process).

    A bad entry is skipped and counted without losing the others; a document that is not a
    feed at all raises :class:`~curation.errors.ParseError`.
    """
    feed = parse_feed(body, url=url, content_type=content_type, now=now)
    items: list[CleanItem] = []
    skipped = 0
    for entry in feed.entries[: settings.max_entries_per_feed]:
        try:
            items.append(
                clean_entry(
                    entry,
                    source_id=source_id,
                    feed_url=url,
                    max_title_chars=settings.max_title_chars,
                )
            )
        except Exception:  # one hostile entry must not lose the rest of the feed
            log.warning("skipped an entry of %s", url, exc_info=True)
            skipped += 1
    return CleanFeed(items, skipped, feed.title, feed.link)


def _worker_pool(settings: Settings, due: int) -> ProcessPoolExecutor | None:
    """Parsing and cleaning are CPU-bound: spread them over worker processes for big batches.

    Small batches run inline, where starting workers would cost more than it saves. Workers
    are forked (milliseconds, nothing to import) while the process has a single thread, and
    come from a fork server otherwise, since forking a threaded process is unsafe.
    """
    workers = settings.ingest_workers or os.cpu_count() or 1
    if workers <= 1 or due < settings.ingest_pool_min_sources:
        return None
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["curation.ingest"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    for _ in range(workers):  # start them now, before the fetcher's threads exist
        pool.submit(int)
    return pool


_GROUP_SIZE = 25  # feeds stored per transaction at most
_GROUP_WAIT = 0.2  # seconds a finished feed may wait for others to share its commit

Fetched = tuple[SourceRecord, FetchResult, "CleanFeed | ParseError | None"]


class Ingestor:
    """Applies fetch results to the store, a group of sources at a time."""

    def __init__(self, store: Store, settings: Settings, now: datetime) -> None:
        self.store = store
        self.settings = settings
        self.now = now
        self._not_modified: list[int] = []

    def apply(self, fetched: Sequence[Fetched]) -> list[SourceOutcome]:
        """Record what each fetch found; every fetched feed of the group is stored in one
        transaction (a feed's items always together with its validators)."""
        outcomes: list[SourceOutcome] = []
        writes: list[tuple[SourceRecord, FeedWrite, int]] = []
        for src, result, cleaned in fetched:
            if result.status == 304:
                self._not_modified.append(src.id)
                outcomes.append(SourceOutcome(src.id, src.url, "not_modified"))
            elif isinstance(cleaned, ParseError):
                outcomes.append(self._fail(src, "error", f"not a feed: {cleaned.detail}"))
            elif result.status == 200 and cleaned is not None:
                write = FeedWrite(
                    src.id,
                    cleaned.items,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    new_url=result.permanent_url,
                    title=cleaned.title,
                    html_url=cleaned.link,
                )
                writes.append((src, write, cleaned.skipped))
            elif result.status == 410:
                error = result.error or "HTTP 410 Gone"
                outcomes.append(self._fail(src, "gone", error, retire=True))
            else:
                status = "refused" if result.permanent_error else "error"
                outcomes.append(self._fail(src, status, result.error or f"HTTP {result.status}"))
        saved = self.store.save_feeds(
            [w for _, w, _ in writes],
            now=self.now,
            next_attempt_at=next_poll(self.now, self.settings),
        )
        for (src, _, skipped), res in zip(writes, saved, strict=True):
            if isinstance(res, SQLAlchemyError):
                log.error("could not store %s: %s", src.url, res)
                outcomes.append(self._fail(src, "error", f"storage error: {type(res).__name__}"))
            else:
                outcomes.append(
                    SourceOutcome(src.id, src.url, "ok", res.new, res.updated, res.linked, skipped)
                )
        return outcomes

    def flush(self) -> None:
        """Write the batched not-modified outcomes (one statement for hundreds of sources)."""
        self.store.record_not_modified(
            self._not_modified, now=self.now, next_attempt_at=next_poll(self.now, self.settings)
        )
        self._not_modified.clear()

    def _fail(
        self, src: SourceRecord, status: str, error: str, *, retire: bool = False
    ) -> SourceOutcome:
        count = src.error_count + 1
        if retire:
            retry = None
        elif status == "refused":
            retry = next_retry(self.now, 99, self.settings, source_id=src.id)
        else:
            retry = next_retry(self.now, count, self.settings, source_id=src.id)
        self.store.record_failure(
            src.id, status=status, error=error, now=self.now, next_attempt_at=retry, retire=retire
        )
        return SourceOutcome(src.id, src.url, status, error=error)


async def ingest_async(
    store: Store,
    settings: Settings,
    *,
    now: datetime | None = None,
    on_progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> IngestSummary:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    due = store.due_sources(now)
    if on_start:
        on_start(len(due))
    ingestor = Ingestor(store, settings, now)
    outcomes: list[SourceOutcome] = []
    pool = _worker_pool(settings, len(due))
    loop = asyncio.get_running_loop()
    finished: asyncio.Queue[Fetched] = asyncio.Queue()

    async def clean(src: SourceRecord, result: FetchResult) -> CleanFeed | ParseError:
        nonlocal pool
        job = partial(
            clean_feed,
            result.body or b"",
            source_id=src.id,
            url=result.final_url or src.url,
            content_type=result.content_type,
            settings=settings,
            now=now,
        )
        try:
            if pool is not None:
                try:
                    return await loop.run_in_executor(pool, job)
                except BrokenProcessPool:  # a worker died (killed, out of memory): go on inline
                    log.error("ingest worker pool broke; parsing the rest inline")
                    pool = None
            return job()
        except ParseError as exc:
            return exc
        except Exception as exc:  # a parser bug must cost one feed, not the batch
            log.exception("could not read %s", src.url)
            return ParseError(f"internal error while reading the feed ({type(exc).__name__})")

    async def one(src: SourceRecord) -> None:
        cleaned = None
        try:
            result = await fetcher.fetch(src.url, etag=src.etag, last_modified=src.last_modified)
            if result.status == 200 and result.body is not None:
                cleaned = await clean(src, result)
        except Exception as exc:  # every source reports back, whatever happened
            log.exception("could not fetch %s", src.url)
            result = FetchResult(url=src.url, status=0, error=f"internal error: {exc!r}")
        finished.put_nowait((src, result, cleaned))

    async def next_group() -> list[Fetched]:
        """The next finished feeds to store together: one commit per group, not per feed."""
        group = [await finished.get()]
        deadline = loop.time() + _GROUP_WAIT
        while len(group) < _GROUP_SIZE and len(group) < remaining:
            try:
                timeout = max(0.0, deadline - loop.time())
                group.append(await asyncio.wait_for(finished.get(), timeout))
            except TimeoutError:
                break
        return group

    tasks: list[asyncio.Task[None]] = []
    try:
        async with Fetcher(settings) as fetcher:
            tasks = [asyncio.create_task(one(src)) for src in due]
            remaining = len(due)
            while remaining:
                group = await next_group()
                remaining -= len(group)
                for outcome in ingestor.apply(group):
                    outcomes.append(outcome)
                    if on_progress:
                        on_progress(outcome)
    finally:
        for task in tasks:
            task.cancel()
        if pool:
            pool.shutdown(cancel_futures=True)
    ingestor.flush()
    return IngestSummary(tuple(outcomes), time.perf_counter() - started)


def ingest(store: Store, settings: Settings, **kwargs: object) -> IngestSummary:
    """Run one ingest cycle over every due source (blocking)."""
    return asyncio.run(ingest_async(store, settings, **kwargs))  # type: ignore[arg-type]
