"""``curation run``: the whole service in one process, on the embedded default.

Migrates the database, imports ``feeds.opml`` when there are no sources yet, serves the API
with uvicorn, and runs the scheduler beside it: every tick it ingests the sources that are
due, refits the ranking model when new items arrived, then builds and sends the digests that
are due at each person's local hour. Each job's failure is logged and the next tick tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from curation.ingest.opml import read_opml
from curation.ingest.pipeline import ingest_async
from curation.settings import Settings
from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import Store

log = logging.getLogger(__name__)

DEFAULT_OPML = Path(__file__).resolve().parent.parent / "feeds.opml"


@dataclass(frozen=True, slots=True)
class TickReport:
    ingest: str | None
    model_refit: bool
    digests_built: int
    emails_sent: int


def prepare(settings: Settings, opml: Path | None = DEFAULT_OPML) -> Store:
    """Migrate, and import the default sources into an empty database."""
    upgrade(settings.database_url)
    store = Store(make_engine(settings.database_url))
    if opml is not None and opml.exists() and not store.list_sources():
        added, _ = store.import_sources(read_opml(opml.read_bytes()).sources)
        log.info("imported %d default sources from %s", added, opml)
    return store


async def tick(store: Store, settings: Settings) -> TickReport:
    """One round of scheduled work: ingest what is due, refit, build and send due digests."""
    summary = await ingest_async(store, settings)
    line = summary.line() if summary.outcomes else None
    if line:
        log.info("ingest: %s", line)
    refit = False
    built = sent = 0
    try:
        from curation.jobs import deliver_due_digests, refresh_rank_model

        if summary.new_items:
            refit = await asyncio.to_thread(refresh_rank_model, store.engine, settings)
        built, sent = await asyncio.to_thread(deliver_due_digests, store.engine, settings)
    except Exception:  # a failing job must not stop the service; the next tick retries
        log.exception("scheduled digest work failed")
    return TickReport(line, refit, built, sent)


async def scheduler(store: Store, settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await tick(store, settings)
        except Exception:
            log.exception("scheduler tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_tick_seconds)


async def serve(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from app.main import create_app

    store = prepare(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=host, port=port, log_level="info")
    )
    stop = asyncio.Event()
    jobs = asyncio.create_task(scheduler(store, settings, stop))
    try:
        await server.serve()
    finally:
        stop.set()
        await jobs
