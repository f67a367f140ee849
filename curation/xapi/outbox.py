"""Sending the queued statements: batches, marked sent only once the LRS accepted them.

A batch answered 200 is marked sent (204 too: what Ralph answers when it had every statement
of the batch already). 409 (the LRS already has a statement with one of these ids) counts as
sent — but one conflicting id rejects a whole batch, so a 409 or 400 on a batch of several is
retried one statement at a time, and only what the LRS accepted is marked. No answer, a 5xx or
any other refusal leaves the statements pending with the error recorded and the next attempt
put off by the project's backoff rule (:mod:`curation.backoff`); nothing is dropped. Since a
statement keeps its id, one that the LRS stored but whose answer was lost is recognised when
sent again (200, 204 or 409): never stored twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from curation.backoff import backoff_delay
from curation.storage.xapi import Queued, XapiStore
from curation.xapi.client import PostResult, XapiClient

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=6)
LEASE_MARGIN = timedelta(minutes=2)  # a claimed batch is due again after its POST's time + this
MAX_BATCHES = 1000  # per flush: a bounded loop; the next flush goes on


@dataclass(frozen=True, slots=True)
class FlushReport:
    sent: int
    failed: int
    batches: int
    error: str | None = None

    def line(self) -> str:
        tail = f" (last error: {self.error})" if self.error else ""
        return f"{self.sent} statements sent, {self.failed} failed in {self.batches} batches{tail}"


def flush(store: XapiStore, client: XapiClient, *, now: datetime, batch: int) -> FlushReport:
    """Send what is due, batch after batch, until nothing is due or the LRS fails."""
    sent = failed = batches = 0
    error: str | None = None
    for _ in range(MAX_BATCHES):
        lease = now + client.timeout * 2 * timedelta(seconds=1) + LEASE_MARGIN
        due = store.claim(now=now, limit=batch, lease_until=lease)
        if not due:
            break
        batches += 1
        ok, bad, result = _send(store, client, due, now=now)
        sent, failed = sent + ok, failed + bad
        if bad:
            error = result.detail or f"HTTP {result.status}"
            break  # the LRS is down or refusing: the rest waits for the next flush
    return FlushReport(sent, failed, batches, error)


def _send(
    store: XapiStore, client: XapiClient, due: Sequence[Queued], *, now: datetime
) -> tuple[int, int, PostResult]:
    result = client.post([q.body for q in due])
    if result.status in (200, 204) or (result.accepted and len(due) == 1):
        store.mark_sent([q.id for q in due], now=now)
        return len(due), 0, result
    if len(due) > 1 and result.status in (400, 409):  # one statement spoils the batch: singly
        ok = bad = 0
        last = result
        for q in due:
            one, fail, last = _send(store, client, [q], now=now)
            ok, bad = ok + one, bad + fail
        return ok, bad, last
    _failed(store, due, result, now=now)
    return 0, len(due), result


def _failed(store: XapiStore, due: Sequence[Queued], result: PostResult, *, now: datetime) -> None:
    error = result.detail or f"HTTP {result.status}"
    by_attempts: dict[int, list[int]] = {}
    for q in due:
        by_attempts.setdefault(q.attempts + 1, []).append(q.id)
    for attempts, ids in by_attempts.items():
        wait = backoff_delay(attempts, RETRY_BASE, RETRY_CAP)
        store.mark_failed(ids, error=error, next_attempt_at=now + wait)
