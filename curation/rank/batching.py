"""Micro-batching of concurrent calls: whoever finds no batch running ranks everyone waiting.

The API answers live recommendations from a pool of threads. Ranking one person alone costs
about as much as ranking dozens together (the candidates' recency, mutes and structure are
worked out once per call), so when several people miss the recommender's cache at the same
time, :class:`Batcher` hands their requests to one call:

- a caller puts its request in the queue; if no batch is running, it becomes the *leader*: it
  takes everything queued (itself included, at most ``max_batch``), runs the batch function once
  on all of it, hands each waiting caller its own result and wakes them;
- callers arriving while a batch runs wait in the queue and form the next batch, led by the
  first of them to wake; nobody waits on purpose for others to come (no added latency);
- an exception raised by the batch function reaches every caller of that batch (the same
  exception object, as :meth:`concurrent.futures.Future.result` does); the next batch runs
  as usual;
- no wait is unbounded: a caller whose result has not come within ``wait_seconds`` gets
  :class:`~curation.errors.Unavailable` (and its request leaves the queue if still there).

:attr:`Batcher.stats` counts batches and requests (what a batch-size histogram would show).
:func:`shared_moments` is the live ranking's rule for ranking requests made a few
milliseconds apart at one instant (see :meth:`curation.rank.recommender.Recommender.rank`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from curation.errors import Unavailable

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class BatchStats:
    """What a :class:`Batcher` did since it was made."""

    batches: int = 0  # calls of the batch function
    requests: int = 0  # requests those calls answered (with a result or an error)
    largest: int = 0  # the most requests one call answered
    failed: int = 0  # calls that raised


class _Slot(Generic[T, R]):
    __slots__ = ("request", "done", "result", "error")

    def __init__(self, request: T) -> None:
        self.request = request
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class Batcher(Generic[T, R]):
    """Runs ``run(requests) -> results`` (one result per request, in order) for everyone
    waiting at once, from the callers' own threads (no thread of its own). Thread-safe."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 64,
        wait_seconds: float = 30.0,
    ) -> None:
        if max_batch < 1 or wait_seconds <= 0:
            raise ValueError("max_batch must be at least 1 and wait_seconds positive")
        self._run = run
        self.max_batch = max_batch
        self.wait_seconds = wait_seconds
        self._cond = threading.Condition()
        self._queue: list[_Slot[T, R]] = []
        self._running = False
        self._stats = BatchStats()
        #: told (batch size, whether it failed) after each batch, e.g. to count it in metrics
        self.observe: Callable[[int, bool], None] | None = None

    @property
    def stats(self) -> BatchStats:
        with self._cond:
            return self._stats

    def queued(self) -> int:
        """Requests waiting for the next batch (not those of the batch running)."""
        with self._cond:
            return len(self._queue)

    def call(self, request: T) -> R:
        """``request``'s result, computed in a batch with whatever else is waiting."""
        slot: _Slot[T, R] = _Slot(request)
        deadline = time.monotonic() + self.wait_seconds
        with self._cond:
            self._queue.append(slot)
        while True:
            with self._cond:
                while not slot.done and self._running:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        if slot in self._queue:  # not taken: nobody will rank it
                            self._queue.remove(slot)
                        raise Unavailable(
                            f"no batch answered within {self.wait_seconds:g} s",
                            retry_after=1,
                        )
                    self._cond.wait(left)
                if slot.done:
                    break
                # nothing running and our request still queued: lead the oldest requests (a
                # queue longer than max_batch is led batch after batch until ours is done)
                self._running = True
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            self._lead(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _lead(self, batch: list[_Slot[T, R]]) -> None:
        error: BaseException | None = None
        results: Sequence[R] = ()
        try:
            results = self._run([s.request for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
        except BaseException as exc:  # every caller of the batch gets it (each raises it)
            error = exc
        with self._cond:
            for k, s in enumerate(batch):
                if error is None:
                    s.result = results[k]
                else:
                    s.error = error
                s.done = True
            old = self._stats
            self._stats = BatchStats(
                batches=old.batches + 1,
                requests=old.requests + len(batch),
                largest=max(old.largest, len(batch)),
                failed=old.failed + (error is not None),
            )
            self._running = False
            self._cond.notify_all()  # the results, and the next leader among the queued
        if self.observe is not None:
            self.observe(len(batch), error is not None)


def shared_moments(untils: Sequence[datetime], span: timedelta) -> list[datetime]:
    """For requests asking at ``untils``, the instant each is ranked at: the latest of the
    requests within ``span`` before it (latest first, greedily). Requests made a few
    milliseconds apart (threads answering at the same time) share one instant, none later
    than ``span`` after it asked; requests further apart keep instants of their own."""
    out: list[datetime] = list(untils)
    order = sorted(range(len(untils)), key=lambda k: untils[k], reverse=True)
    moment: datetime | None = None
    for k in order:
        if moment is None or moment - untils[k] > span:
            moment = untils[k]
        out[k] = moment
    return out
