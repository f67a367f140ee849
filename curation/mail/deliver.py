"""Send each recorded digest once: the delivery loop over ``digest`` rows.

A digest row is recorded (``email_status='pending'``) before anything is sent. For each due row
:func:`deliver_pending` (rows: :mod:`curation.storage.deliveries`)

1. *claims* it with one atomic ``UPDATE … SET email_status='sending' WHERE id=? AND <still
   due>``: of two runs racing for a row, exactly one changes it, and only that one sends;
2. renders it from its stored :class:`DigestView` (the same content as the API) and hands it
   to the transport;
3. marks it ``sent`` right after the server accepts it, or records what went wrong:
   a temporary failure goes back to ``pending`` with ``email_attempts`` + 1 and an
   exponential ``email_next_attempt_at`` (``failed`` after ``email_max_attempts``); a
   permanent one is ``failed`` with the reason in ``email_error``, never retried.

While a row is ``sending``, ``email_next_attempt_at`` holds the end of its *lease*. A run that
crashed leaves the row ``sending``; once the lease has passed, the next run sends it.

The one window no database can close is between the server's "250 accepted" and our "sent"
commit: a crash exactly there sends that digest again when its lease ends. It is kept as short
as one UPDATE, and the copy carries the same Message-ID, so it can be recognised downstream.

Other statuses: ``empty`` (nothing new that day: no e-mail at all) and ``skipped`` (the person
unsubscribed before it went out).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sized
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from curation.backoff import backoff_delay
from curation.clock import utcnow
from curation.digest.view import DigestView
from curation.errors import CurationError
from curation.mail.errors import TemporaryFailure, TransportUnavailable
from curation.mail.render import Renderer, make_renderer
from curation.mail.transport import Transport, transport_from_settings
from curation.settings import Settings
from curation.storage.deliveries import DeliveryRows
from curation.storage.engine import make_engine
from curation.storage.people import PeopleStore
from curation.vocab import DeliveryStatus

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED
_LOAD_ALL_FROM = 20  # due digests from which one read of all people beats one read each
_PROCESSES_FROM = 200  # digests in a chunk from which sender processes are worth starting
# senders in each sender process (see _sender_process): on PostgreSQL a thread waits for the
# server, the other renders (measured: ~20% more messages/s); SQLite takes one writer at a time
# and two threads only wait for each other's claims
_THREADS_PER_PROCESS = {"postgresql": 2}


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # temporary failure: back to pending with a later next attempt
    failed: int = 0  # permanent failure, or too many temporary ones
    empty: int = 0  # nothing new: marked empty, no e-mail
    skipped: int = 0  # the person unsubscribed
    stopped: str | None = None  # why the batch stopped early (the transport was unavailable)

    def line(self) -> str:
        text = (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed,"
            f" {self.empty} empty, {self.skipped} skipped"
        )
        return f"{text}; stopped: {self.stopped}" if self.stopped else text


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """5, 10, 20 … minutes after the 1st, 2nd, 3rd … failure, at most the configured cap."""
    return backoff_delay(
        attempts,
        timedelta(minutes=settings.email_retry_base_minutes),
        timedelta(minutes=settings.email_retry_max_minutes),
    )


def deliver_pending(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    transport: Transport | None = None,
    render: Renderer | None = None,
    shard: tuple[int, int] = (0, 1),
) -> DeliveryReport:
    """Send every recorded digest that is due at ``now``, each once; with ``shard`` (k, n),
    only those whose id modulo n is k (one of n delivery lanes running at once).

    What ``curation digests send`` and the scheduler call after building the due digests. Uses
    the transport and renderer from ``settings`` unless given; closes only its own transport.
    """
    now = now or utcnow()
    own = transport is None
    transport = transport or transport_from_settings(settings)
    try:
        return _deliver(
            engine,
            transport,
            settings=settings,
            now=now,
            render=render or make_renderer(settings, now=now),
            shard=shard,
        )
    finally:
        if own:
            transport.close()


class DeliveryPipeline:
    """Send recorded digests while more are being built (a two-stage pipeline).

    Use as a context manager around the building: each :meth:`ready` (a chunk of digests was
    recorded) wakes a sender thread that runs a delivery pass (:func:`_deliver`: settle, list,
    claim, render, send, mark — each digest once, as in :func:`deliver_pending`) over every row
    due at ``now``; leaving the block runs a last pass and waits for it. Passes of one sender
    never overlap, and a chunk's rows are only sent once they are recorded. A pass stopped by
    an unavailable transport ends that sender's work (the next run resumes it).

    Rendering is CPU work that would share one core with the building: from the first chunk
    of ``_PROCESSES_FROM`` digests on, ``email_sender_processes`` processes (each with its own
    transport from the settings; only when no transport is given) take over the sending, and
    the thread, once the first of them is ready, leaves the building its core. Each process
    takes the digests whose id modulo the number of processes is its own, then helps with the
    others' (:func:`_in_order`); once the building is done, the thread's last pass helps too.
    Claims stay atomic, so a digest is sent once whoever lists it. :attr:`report` adds up every
    pass.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        now: datetime,
        transport: Transport | None = None,
        render: Renderer | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now
        self._own = transport is None
        self._transport = transport
        self._render = render
        self._processes = settings.email_sender_processes if transport is None else 0
        self._wake = threading.Event()
        self._finishing = False
        self._reports: list[DeliveryReport] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="digest-sender", daemon=True)
        self._children: list = []  # (process, its wake event)
        self._context = multiprocessing.get_context("spawn")
        self._results = None
        self._finished = None
        self._sending = None  # set by the first sender process ready to send

    def __enter__(self) -> DeliveryPipeline:
        self._transport = self._transport or transport_from_settings(self.settings)
        self._render = self._render or make_renderer(self.settings, now=self.now)
        self._thread.start()
        return self

    def ready(self, views: Sized | None = None) -> None:
        """Digests were recorded (``views``, when given, says how many): send them soon."""
        big = views is not None and len(views) >= _PROCESSES_FROM
        if big and self._processes and not self._children:
            self._start_processes()
        self._wake.set()
        for _, wake in self._children:
            wake.set()

    def _start_processes(self) -> None:
        self._results = self._context.Queue()
        self._finished = self._context.Event()
        self._sending = self._context.Event()
        senders = self._processes
        for n in range(senders):
            wake = self._context.Event()
            process = self._context.Process(
                target=_sender_process,
                args=(
                    self.settings,
                    self.now,
                    (n, senders),
                    wake,
                    self._finished,
                    self._sending,
                    self._results,
                ),
                name=f"digest-sender-{n + 1}",
                daemon=True,
            )
            process.start()
            self._children.append((process, wake))

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        self._finishing = True
        self._wake.set()
        if self._children:
            self._finished.set()  # type: ignore[union-attr]
            for _, wake in self._children:
                wake.set()
        self._thread.join()
        self._collect()
        if self._own and self._transport is not None:
            self._transport.close()
        if self._error is not None and exc is None:
            raise self._error

    def _collect(self) -> None:
        """Wait for the sender processes' last passes and take their reports."""
        waiting = len(self._children)
        deadline = time.monotonic() + 60 * self.settings.email_lease_minutes
        while waiting and time.monotonic() < deadline:
            try:
                kind, value = self._results.get(timeout=1.0)  # type: ignore[union-attr]
            except queue.Empty:
                if not any(p.is_alive() for p, _ in self._children):
                    break  # died without reporting (its claims come back when the lease ends)
                continue
            if kind == "reports":
                self._reports.extend(value)
                waiting -= 1
            else:
                log.error("an e-mail sender process failed: %s", value)
        for process, _ in self._children:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                last = self._finishing  # read before the pass: a later ready() wakes us again
                sending = self._sending.is_set if self._sending is not None else None
                if sending is not None and sending() and not last:
                    continue  # the sender processes are at it: the building keeps this core
                report = _deliver(
                    self.engine,
                    self._transport,  # type: ignore[arg-type]
                    settings=self.settings,
                    now=self.now,
                    render=self._render,  # type: ignore[arg-type]
                    shard=None if self._children else (0, 1),
                    stop=None if last else sending,  # while they start, this thread sends
                )
                self._reports.append(report)
                if last or report.stopped:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the building thread on exit
            self._error = exc

    @property
    def report(self) -> DeliveryReport:
        """Every pass's counts added up (and why sending stopped, if it did)."""
        reports = self._reports
        return DeliveryReport(
            sent=sum(r.sent for r in reports),
            retrying=sum(r.retrying for r in reports),
            failed=sum(r.failed for r in reports),
            empty=sum(r.empty for r in reports),
            skipped=sum(r.skipped for r in reports),
            stopped=next((r.stopped for r in reports if r.stopped), None),
        )


def _sender_process(
    settings: Settings,
    now: datetime,
    shard: tuple[int, int],
    wake,  # noqa: ANN001 - multiprocessing events and queue
    finished,  # noqa: ANN001
    sending,  # noqa: ANN001
    results,  # noqa: ANN001
) -> None:
    """A :class:`DeliveryPipeline` sender in its own process: a pass per wake-up over its
    share of the due digests, until the building has finished (then one last pass).

    On PostgreSQL the share is split between threads (``_THREADS_PER_PROCESS``), each with
    its own transport, each sending one digest at a time (claim, render, send, mark) as any
    sender does: while one waits for the database or the transport, another renders."""
    parent = os.getppid()
    engine = make_engine(settings.database_url)
    threads = _THREADS_PER_PROCESS.get(engine.dialect.name, 1)
    k, n = shard
    shards = [(k + t * n, n * threads) for t in range(threads)]
    transports = [transport_from_settings(settings) for _ in shards]
    reports: list[DeliveryReport] = []
    try:
        render = make_renderer(settings, now=now)
        sending.set()  # ready: the building process's thread leaves the sending to us

        def one_pass(shard: tuple[int, int], transport: Transport) -> DeliveryReport:
            return _deliver(
                engine, transport, settings=settings, now=now, render=render, shard=shard
            )

        with ThreadPoolExecutor(len(shards), thread_name_prefix="digest-sender") as pool:
            while True:
                while not wake.wait(1.0):
                    if os.getppid() != parent:  # the building process is gone
                        return
                wake.clear()
                last = finished.is_set()
                passes = list(pool.map(one_pass, shards, transports))
                reports.extend(passes)
                if last or any(report.stopped for report in passes):
                    return
    except BaseException as exc:  # noqa: BLE001 - reported to the building process
        results.put(("error", repr(exc)))
    finally:
        results.put(("reports", reports))
        for transport in transports:
            transport.close()
        engine.dispose()


def _in_order(ids: list[int], shard: tuple[int, int] | None) -> list[int]:
    """The due digests a sender tries to claim, in order: its own share (id modulo n is k)
    from the first on; a helper (None) takes any, from the last back, so that it meets the
    senders of the shares instead of racing them for the same rows."""
    if shard is None:
        return ids[::-1]
    k, n = shard
    return [i for i in ids if i % n == k]


def _deliver(
    engine: Engine,
    transport: Transport,
    *,
    settings: Settings,
    now: datetime,
    render: Renderer,
    shard: tuple[int, int] | None = (0, 1),
    stop: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send every digest that is due at ``now``, each once. The caller owns ``transport``.
    ``shard`` (k, n): the digests whose id modulo n is k first (one of n senders), then the
    others; None: a helper with no share of its own (:func:`_in_order`). ``stop``: asked
    before each digest; True ends the pass there (others will send the rest)."""
    started = time.monotonic()
    lease = timedelta(minutes=settings.email_lease_minutes)

    def clock() -> datetime:  # ``now`` as given, moved on by the time this batch has taken
        return now + timedelta(seconds=time.monotonic() - started)

    rows = DeliveryRows(engine)
    outcome = rows.outcome

    def retry(digest_id: int, attempts: int, error: str) -> str:
        """Back to pending after a delay, or failed when the attempts are used up."""
        if attempts >= settings.email_max_attempts:
            reason = f"gave up after {attempts} attempts: {error}"
            outcome(digest_id, FAILED, attempts, reason)
            log.warning("digest %s failed: %s", digest_id, reason)
            return FAILED
        later = clock() + retry_delay(attempts, settings)
        outcome(digest_id, PENDING, attempts, error, next_attempt_at=later)
        log.info("digest %s will be retried (attempt %d): %s", digest_id, attempts, error)
        return PENDING

    empty, skipped = rows.settle(now)
    ids = _in_order(rows.due(now), shard)

    people = PeopleStore(engine)
    # one read of everyone for a big batch; the claim re-checks the subscription row by row
    known = {p.id: p for p in people.all()} if len(ids) > _LOAD_ALL_FROM else {}
    counts = {SENT: 0, PENDING: 0, FAILED: 0}
    stopped: str | None = None
    tried: set[int] = set()
    waiting = deque(ids)
    while waiting:
        if stop is not None and stop():
            break
        digest_id = waiting.popleft()
        tried.add(digest_id)
        row = rows.claim(digest_id, now=now, lease_until=clock() + lease)
        if row is None:  # another sender took it, or it changed since we listed it: what is
            # still due then (another sender may be coming our way), each tried once
            waiting = deque(i for i in _in_order(rows.due(now), shard) if i not in tried)
            continue
        attempts = row.email_attempts
        try:
            view = DigestView.from_json(row.payload)
        except (ValueError, KeyError, TypeError) as exc:
            outcome(digest_id, FAILED, attempts, f"stored digest is unreadable: {exc!r}")
            counts[FAILED] += 1
            continue
        try:
            person = known.get(row.person_id) or people.get(row.person_id)
            message = render(view, person)
            transport.send(message, to=person.email.strip(), key=f"digest-{digest_id}")
        except TransportUnavailable as exc:
            outcome(digest_id, PENDING, attempts, exc.detail)  # not this digest's fault
            stopped = exc.detail
            log.warning("e-mail delivery stopped at digest %s: %s", digest_id, exc.detail)
            break
        except TemporaryFailure as exc:
            counts[retry(digest_id, attempts + 1, exc.detail)] += 1
        except CurationError as exc:  # PermanentFailure, or a person that no longer exists
            outcome(digest_id, FAILED, attempts + 1, exc.detail)
            counts[FAILED] += 1
            log.warning("digest %s not delivered: %s", digest_id, exc.detail)
        except Exception as exc:  # a bug, not the message: keep the batch going, retry later
            log.exception("digest %s: unexpected error while sending", digest_id)
            counts[retry(digest_id, attempts + 1, f"unexpected error: {exc!r}")] += 1
        else:
            outcome(digest_id, SENT, attempts + 1, None, sent_at=clock())
            counts[SENT] += 1
    report = DeliveryReport(
        sent=counts[SENT],
        retrying=counts[PENDING],
        failed=counts[FAILED],
        empty=empty,
        skipped=skipped,
        stopped=stopped,
    )
    if ids or empty or skipped:
        log.info("e-mail: %s", report.line())
    return report
