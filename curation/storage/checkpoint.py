"""Checkpoints of a SQLite write-ahead log, run beside the processes that write.

In WAL mode a commit appends pages to the log, and a *checkpoint* copies them into the database
file and syncs it to disk. By default the connection whose commit takes the log past
:data:`~curation.storage.engine.WAL_CHECKPOINT_BYTES` does it, there and then. Ingest worker
processes write one at a time (:mod:`curation.ingest.workers`), so a checkpoint made by one of
them, with its fsyncs, holds every other writer up. Their engines leave checkpoints out
(``make_engine(checkpoints=False)``) and the process that started them runs a
:class:`WalCheckpointer`: a thread that copies the log twice a second, in PASSIVE mode, which
never waits for and never blocks a writer or a reader.

A checkpoint only moves pages that are already safe in the log, so one that fails or never runs
loses nothing: the log grows, readers still find every page, and the next checkpoint catches up.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from curation.storage.engine import make_engine

__all__ = ["WalCheckpointer"]

log = logging.getLogger(__name__)

_EVERY = 0.5  # seconds between two checkpoints


class WalCheckpointer:
    """A thread that checkpoints the SQLite database at ``url`` every ``every`` seconds, from
    entering the block to leaving it. Nothing is left for the end: what the writers logged in
    the last interval waits for the next checkpoint (half a second of writes, ~27 MiB in the
    ingest bench; their own checkpoints left up to
    :data:`~curation.storage.engine.WAL_CHECKPOINT_BYTES`)."""

    def __init__(self, url: str, *, every: float = _EVERY) -> None:
        self.every = every
        self.checkpoints = 0  # checkpoints that ran (each copies what no reader still needs)
        self.failures = 0
        self._engine = make_engine(url)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="curation-wal-checkpoint", daemon=True
        )

    def __enter__(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.checkpoint()

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint: copies the log's pages that no reader still needs into the
        database file, without waiting for any writer or reader."""
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
            self.checkpoints += 1
        except SQLAlchemyError as exc:  # the pages stay in the log; the next one catches up
            self.failures += 1
            log.warning("WAL checkpoint failed (the next one catches up): %s", exc)
