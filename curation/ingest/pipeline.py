"""One ingest cycle: due sources → fetch → parse → clean → store, with per-source outcomes.

Failures are data: each source's problem is recorded on its own row (status, last error,
error count, next attempt) and the rest of the batch goes on. The cycle runs the pipeline
(:mod:`curation.ingest.loop`) in this process for a small batch, and shares a big one among
worker processes (:mod:`curation.ingest.workers`); what it returns is an
:class:`~curation.ingest.outcomes.IngestSummary` of every source's outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from curation.ingest.loop import claims_from, process_sources
from curation.ingest.outcomes import IngestSummary, Progress, SourceOutcome
from curation.ingest.workers import process_in_workers, worker_count
from curation.settings import Settings
from curation.storage.feeds import Store

__all__ = ["IngestSummary", "SourceOutcome", "ingest", "ingest_async"]

log = logging.getLogger(__name__)


async def ingest_async(
    store: Store,
    settings: Settings,
    *,
    now: datetime | None = None,
    on_progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    every_source: bool = False,
    shard: tuple[int, int] | None = None,
) -> IngestSummary:
    """Run one ingest cycle over every source due at ``now`` (``every_source``: every active
    one, whatever its schedule, as "refresh all" does); ``on_start`` hears how many are due,
    ``on_progress`` every source's outcome as it is stored. ``shard=(k, n)`` keeps the sources
    whose id is ``k`` modulo ``n`` (one job of :mod:`curation.jobs` per shard)."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    due = store.due_sources(now, every_source=every_source)
    if shard is not None:
        due = [s for s in due if s.id % shard[1] == shard[0]]
    if on_start:
        on_start(len(due))
    outcomes: list[SourceOutcome] = []

    def report(group: list[SourceOutcome]) -> None:
        for outcome in group:
            outcomes.append(outcome)
            if on_progress:
                on_progress(outcome)

    left = due
    if workers := worker_count(settings, store, len(due)):
        left = await process_in_workers(store, settings, due, now, workers, report)
        if left:
            log.error("ingest: %d sources left by a failed worker; running them here", len(left))
    if left:
        await process_sources(store, settings, claims_from(left), now, report)
    summary = IngestSummary(tuple(outcomes), time.perf_counter() - started)
    _log(summary)
    return summary


def _log(summary: IngestSummary) -> None:
    """One line per failed source (with its id), then one for the cycle."""
    for o in summary.outcomes:
        if o.error:
            log.warning("ingest: source %d %s: %s: %s", o.source_id, o.url, o.status, o.error)
    if summary.outcomes:
        log.info("ingest: %s", summary.line())


def ingest(store: Store, settings: Settings, **kwargs: object) -> IngestSummary:
    """Run one ingest cycle over every due source (blocking)."""
    return asyncio.run(ingest_async(store, settings, **kwargs))  # type: ignore[arg-type]
