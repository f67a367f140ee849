"""Worker processes: a big batch shared among processes that each run the whole pipeline.

Parsing and cleaning are CPU-bound, so a big batch is shared among worker processes, one per
core (:func:`worker_count`), each claiming sources from the shared list a few at a time,
running :func:`~curation.ingest.loop.process_sources` on them and committing to the database
itself; only the outcomes come back (:func:`process_in_workers`). Processes sharing a SQLite
file take turns to write (:class:`_WriteTurn`), and leave the log's checkpoints, with their
fsyncs, to a thread of the process that started them
(:class:`~curation.storage.checkpoint.WalCheckpointer`): no turn waits for one.

A worker never outlives the process that started it: each holds the read end of a *lifeline*, a
pipe whose only write end stays in the parent, and a thread of the worker waits on it. When the
parent dies, however it dies (SIGKILL included), the kernel closes that end, the read returns
and the worker exits at once (:func:`_exit_with_parent`) without writing anything more: a
transaction it had open is rolled back by the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from curation.ingest.loop import ALWAYS_FREE, process_sources
from curation.ingest.outcomes import Report, SourceOutcome
from curation.settings import Settings
from curation.storage.checkpoint import WalCheckpointer
from curation.storage.engine import make_engine
from curation.storage.feeds import Store
from curation.storage.sources import SourceRecord

__all__ = ["process_in_workers", "worker_count"]

log = logging.getLogger(__name__)

_EXIT_WAIT = 30.0  # seconds a worker that has reported everything may take to exit
_ORPHANED = 70  # a worker's exit code when its parent is gone
_TURN_WAIT = 10.0  # seconds to wait for the write turn before writing anyway (see _WriteTurn)


class _WriteTurn:
    """Takes turns writing to a SQLite database shared by several ingest processes.

    SQLite has one writer at a time and makes the others poll (sleeping between tries); a lock
    shared by the processes hands the turn over at once instead. It only saves time: if a turn
    is not free within ``_TURN_WAIT`` (a process died holding it) the write goes ahead and
    SQLite's own locking keeps it correct.
    """

    def __init__(self, lock: Any) -> None:  # a multiprocessing Lock
        self._lock = lock
        self._held = False

    def take(self, *, wait: bool) -> bool:
        """Take the turn; without ``wait``, only when it is free right now."""
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


def worker_count(settings: Settings, store: Store, due: int) -> int:
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
    context.set_forkserver_preload(["curation.ingest.workers"])
    return context


def _exit_with_parent(lifeline: Connection) -> None:
    """Exit this process as soon as the parent holding the lifeline's other end is gone.

    Nothing is ever sent on the lifeline: the read returns only with EOF, when the last write
    end closes, which the kernel does when the parent dies. ``os._exit`` ends the process there
    and then, with no cleanup that could write (an open transaction is never committed)."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv()
        os._exit(_ORPHANED)

    threading.Thread(target=watch, name="curation-lifeline", daemon=True).start()


def _worker_main(
    conn: Connection,
    lifeline: tuple[Connection, Connection],
    url: str,
    settings: Settings,
    due: list[SourceRecord],
    taken: Any,  # a multiprocessing Value: how many of ``due`` the workers have claimed
    workers: int,
    now: datetime,
    lock: Any | None,
) -> None:
    """One worker process: claims sources of the batch, takes them from fetch to commit, and
    sends the outcomes back through ``conn``; exits when the parent dies (``lifeline``: the
    pipe's read end to watch, and the write end this process must not keep open)."""
    watched, parents_end = lifeline
    parents_end.close()  # a fork copied it: only the parent may hold it
    _exit_with_parent(watched)

    def claim(n: int) -> list[SourceRecord]:
        with taken.get_lock():
            start = taken.value
            # at most a quarter of a worker's share of what is left: the workers finish together
            share = -(-(len(due) - start) // (4 * workers))
            taken.value = min(len(due), start + min(n, max(1, share)))
            return due[start : taken.value]

    # its own connections (none crosses a fork); on SQLite the parent checkpoints the log
    engine = make_engine(url, checkpoints=lock is None)
    try:
        turn = ALWAYS_FREE if lock is None else _WriteTurn(lock)
        asyncio.run(process_sources(Store(engine), settings, claim, now, conn.send, turn))
    finally:
        engine.dispose()
        conn.close()


async def process_in_workers(
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
    lifeline = context.Pipe(duplex=False)  # (read end for the workers, write end kept here)
    checkpoints = contextlib.ExitStack()
    try:
        for k in range(workers):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_worker_main,
                args=(writer, lifeline, url, part_settings, due, taken, workers, now, lock),
                name=f"curation-ingest-{k}",
                daemon=True,
            )
            process.start()
            writer.close()
            processes.append(process)
            readers.append(reader)
            loop.add_reader(reader.fileno(), on_readable, reader)
        if lock is not None:  # SQLite: the workers leave checkpoints to this process; its
            # thread starts once they are forked (a fork copies no thread, but would copy a lock
            # SQLite's thread held)
            checkpoints.enter_context(WalCheckpointer(url))
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
        checkpoints.close()
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
        for end in lifeline:  # every worker has exited: nobody is left to watch it
            end.close()
    return [src for src in due if src.id not in reported]
