"""One ingest cycle: due sources → fetch → parse → clean → store, with per-source outcomes.

Failures are data: each source's problem is recorded on its own row (status, last error,
error count, next attempt) and the rest of the batch goes on.

Parsing and cleaning are CPU-bound, so a big batch is shared among worker processes, one per
core, each running the whole pipeline on its part and committing to the database itself; only
the outcomes come back. Processes sharing a SQLite file take turns to write (:class:`_WriteTurn`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from curation.errors import ParseError
from curation.ingest.clean import clean_entry
from curation.ingest.fetch import Fetcher
from curation.ingest.parse.feed import parse_feed
from curation.ingest.records import CleanItem, FetchResult
from curation.ingest.schedule import next_poll, next_retry
from curation.settings import Settings
from curation.storage.engine import make_engine
from curation.storage.feeds import FeedWrite, SourceRecord, Store

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


_GROUP_SIZE = 50  # fetched feeds stored per transaction, when the store is free
_MAX_GROUP = 100  # ... and at most this many while another process is writing
_GROUP_WAIT = 0.2  # seconds a finished feed may wait for others to share its commit
_EXIT_WAIT = 30.0  # seconds a worker that has reported everything may take to exit
_CLAIM = 8  # sources a process claims at a time, once its first fetch_concurrency are out
_LOW_WATER = 8  # ... when fewer downloaded feeds than this wait to be cleaned
_TURN_WAIT = 10.0  # seconds to wait for the write turn before writing anyway (see _WriteTurn)

Fetched = tuple[SourceRecord, FetchResult, "CleanFeed | ParseError | None"]
Report = Callable[[list[SourceOutcome]], None]


class _WriteTurn:
    """Takes turns writing to a SQLite database shared by several ingest processes.

    SQLite has one writer at a time and makes the others poll (sleeping between tries); a lock
    shared by the processes hands the turn over at once instead. It only saves time: if a turn
    is not free within ``_TURN_WAIT`` (a process died holding it) the write goes ahead and
    SQLite's own locking keeps it correct.
    """

    def __init__(self, lock: Any | None) -> None:  # a multiprocessing Lock, or None
        self._lock = lock
        self._held = False

    def take(self, *, wait: bool) -> bool:
        """Take the turn; without ``wait``, only when it is free right now."""
        if self._lock is None:
            return True
        if wait:
            self._held = self._lock.acquire(timeout=_TURN_WAIT)
            if not self._held:
                log.warning("ingest: no write turn after %.0f s; writing anyway", _TURN_WAIT)
            return True
        self._held = self._lock.acquire(block=False)
        return self._held

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


def _clean(
    src: SourceRecord, result: FetchResult, settings: Settings, now: datetime
) -> CleanFeed | ParseError | None:
    if result.status != 200 or result.body is None:
        return None
    try:
        return clean_feed(
            result.body,
            source_id=src.id,
            url=result.final_url or src.url,
            content_type=result.content_type,
            settings=settings,
            now=now,
        )
    except ParseError as exc:
        return exc
    except Exception as exc:  # a parser bug must cost one feed, not the batch
        log.exception("could not read %s", src.url)
        return ParseError(f"internal error while reading the feed ({type(exc).__name__})")


Claim = Callable[[int], Sequence[SourceRecord]]  # 1 to n more sources to process; [] at the end


def _claims(sources: Sequence[SourceRecord]) -> Claim:
    """Claims over a list this process has to itself."""
    it = iter(sources)
    return lambda n: list(itertools.islice(it, n))


async def _process(
    store: Store,
    settings: Settings,
    claim: Claim,
    now: datetime,
    report: Report,
    lock: Any | None = None,
) -> None:
    """Fetch, clean and store the sources ``claim`` hands out; ``report`` hears every outcome.

    Sources are claimed a few at a time, as fetched feeds get cleaned, so that processes sharing
    a batch finish together. Downloads run concurrently (up to ``fetch_concurrency``); between
    them the feeds that have arrived are cleaned one at a time and stored a group per
    transaction: a group is ready at ``_GROUP_SIZE`` feeds, or ``_GROUP_WAIT`` seconds after its
    first, or when nothing is left to fetch. With ``lock`` (processes sharing a SQLite file) a
    ready group waits for the write turn only when there is nothing else to do; while another
    process writes, this one cleans on, up to ``_MAX_GROUP`` feeds.
    """
    loop = asyncio.get_running_loop()
    ingestor = Ingestor(store, settings, now)
    turn = _WriteTurn(lock)
    fetched: asyncio.Queue[tuple[SourceRecord, FetchResult]] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()

    async def fetch(src: SourceRecord) -> None:
        try:
            result = await fetcher.fetch(src.url, etag=src.etag, last_modified=src.last_modified)
        except Exception as exc:  # every source reports back, whatever happened
            log.exception("could not fetch %s", src.url)
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
                pending.append((src, result, _clean(src, result, settings, now)))
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


def _worker_count(settings: Settings, store: Store, due: int) -> int:
    """How many worker processes share a batch: one per core for big batches, none (run here)
    for small ones, where starting processes would cost more than it saves, or when the
    database lives in this process's memory.

    Each worker gets an equal part of the fetch limits, so never more workers than the per-host
    limit: the limit must hold for the batch as a whole."""
    workers = min(
        settings.ingest_workers or os.cpu_count() or 1,
        settings.fetch_per_host,
        settings.fetch_concurrency,
    )
    if workers <= 1 or due < settings.ingest_pool_min_sources:
        return 0
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and (
        not url.database or url.database == ":memory:" or "mode=memory" in str(url)
    ):
        return 0
    return min(workers, due)


def _process_context() -> multiprocessing.context.BaseContext:
    """Fork (milliseconds, nothing to import) while this process has a single thread; a fork
    server otherwise, since forking a threaded process is unsafe (spawn where neither exists)."""
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["curation.ingest.pipeline"])
    return context


def _worker_main(
    conn: Connection,
    url: str,
    settings: Settings,
    due: list[SourceRecord],
    taken: Any,  # a multiprocessing Value: how many of ``due`` the workers have claimed
    workers: int,
    now: datetime,
    lock: Any | None,
) -> None:
    """One worker process: claims sources of the batch, takes them from fetch to commit, and
    sends the outcomes back through ``conn``."""

    def claim(n: int) -> list[SourceRecord]:
        with taken.get_lock():
            start = taken.value
            # at most a quarter of a worker's share of what is left: the workers finish together
            share = -(-(len(due) - start) // (4 * workers))
            taken.value = min(len(due), start + min(n, max(1, share)))
            return due[start : taken.value]

    engine = make_engine(url)  # its own connections: none crosses a fork
    try:
        asyncio.run(_process(Store(engine), settings, claim, now, conn.send, lock))
    finally:
        engine.dispose()
        conn.close()


async def _process_in_workers(
    store: Store,
    settings: Settings,
    due: Sequence[SourceRecord],
    now: datetime,
    workers: int,
    report: Report,
) -> list[SourceRecord]:
    """Share ``due`` among ``workers`` processes, each running the whole pipeline on the sources
    it claims (parsing and cleaning are CPU-bound; nothing but outcomes crosses a process
    boundary).

    Returns the sources no worker reported on: a worker that died (killed, out of memory) may
    have left some. The caller can simply run them again: the items of a group the worker
    committed just before dying are found already stored (same GUIDs, same content), never
    stored twice; they are only missing from this cycle's count of new items.
    """
    context = _process_context()
    url = store.engine.url.render_as_string(hide_password=False)
    lock = context.Lock() if store.engine.dialect.name == "sqlite" else None
    taken = context.Value("l", 0)
    due = list(due)
    part_settings = settings.model_copy(
        update={
            "fetch_concurrency": max(1, settings.fetch_concurrency // workers),
            "fetch_per_host": max(1, settings.fetch_per_host // workers),
        }
    )
    log.info(
        "ingest: %d sources shared by %d worker processes (%s)",
        len(due),
        workers,
        context.get_start_method(),
    )
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[list[SourceOutcome] | None] = asyncio.Queue()

    def on_readable(conn: Connection) -> None:
        try:
            while conn.poll():
                inbox.put_nowait(conn.recv())
        except (EOFError, OSError):  # the worker is done (or gone)
            loop.remove_reader(conn.fileno())
            conn.close()
            inbox.put_nowait(None)

    processes: list[multiprocessing.process.BaseProcess] = []
    readers: list[Connection] = []
    reported: set[int] = set()
    finished = False
    try:
        for k in range(workers):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_worker_main,
                args=(writer, url, part_settings, due, taken, workers, now, lock),
                name=f"curation-ingest-{k}",
                daemon=True,
            )
            process.start()
            writer.close()
            processes.append(process)
            readers.append(reader)
            loop.add_reader(reader.fileno(), on_readable, reader)
        ended = 0
        while ended < workers:
            outcomes = await inbox.get()
            if outcomes is None:
                ended += 1
                continue
            reported.update(o.source_id for o in outcomes)
            report(outcomes)
        finished = True
    finally:
        for reader in readers:
            if not reader.closed:
                loop.remove_reader(reader.fileno())
                reader.close()
        for process in processes:
            if finished:  # every worker has closed its end: it is on its way out
                process.join(_EXIT_WAIT)
            if process.is_alive():  # cancelled or stuck: stop it (its transaction rolls back)
                process.terminate()
                process.join()
            if process.exitcode:
                log.error("ingest worker %s exited with code %s", process.name, process.exitcode)
    return [src for src in due if src.id not in reported]


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
    outcomes: list[SourceOutcome] = []

    def report(group: list[SourceOutcome]) -> None:
        for outcome in group:
            outcomes.append(outcome)
            if on_progress:
                on_progress(outcome)

    left = due
    if workers := _worker_count(settings, store, len(due)):
        left = await _process_in_workers(store, settings, due, now, workers, report)
        if left:
            log.error("ingest: %d sources left by a failed worker; running them here", len(left))
    if left:
        await _process(store, settings, _claims(left), now, report)
    return IngestSummary(tuple(outcomes), time.perf_counter() - started)


def ingest(store: Store, settings: Settings, **kwargs: object) -> IngestSummary:
    """Run one ingest cycle over every due source (blocking)."""
    return asyncio.run(ingest_async(store, settings, **kwargs))  # type: ignore[arg-type]
