"""The scheduler: the periodic work of the embedded default, one tick at a time.

Every tick ingests the sources that are due, refits the ranking model when new items arrived,
then builds and sends the digests that are due at each person's local hour. A failing job is
logged and the next tick tries again. ``curation run`` (:mod:`curation.cli.serve`) runs it
beside the API; :func:`prepare` readies an empty database first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from curation.channels.deliver import deliver_channels
from curation.ingest.pipeline import ingest_async
from curation.services import Curation
from curation.settings import Settings
from curation.storage.engine import upgrade

log = logging.getLogger(__name__)

DEFAULT_OPML = Path(__file__).resolve().parent.parent / "feeds.opml"


@dataclass(frozen=True, slots=True)
class TickReport:
    ingest: str | None
    model_refit: bool
    digests_built: int
    emails_sent: int


def default_sources(settings: Settings) -> Path | None:
    """The OPML file ``CURATION_DEFAULT_SOURCES`` names (None for ``-``)."""
    value = settings.default_sources.strip()
    if value == "-":
        return None
    return Path(value) if value else DEFAULT_OPML


def prepare(curation: Curation) -> None:
    """Migrate, and import the default sources into an empty database."""
    upgrade(curation.settings.database_url)
    opml = default_sources(curation.settings)
    if opml is not None and opml.exists() and not curation.store.list_sources():
        report = curation.sources.import_opml(opml.read_bytes())
        log.info("default sources from %s: %s", opml, report.line())


async def tick(curation: Curation) -> TickReport:
    """One round of scheduled work: ingest what is due, refit, build and send due digests,
    post to chats, recompute old insight figures, flush xAPI statements."""
    # the plain cycle: the tick refits on any news itself (a full refit keeps weights current)
    summary = await ingest_async(curation.store, curation.settings)
    line = summary.line() if summary.outcomes else None  # the cycle logged it
    refit = False
    built = sent = 0
    try:
        if summary.new_items:
            refit = await asyncio.to_thread(curation.refit)
            log.info("ranking model refitted after %d new items: %s", summary.new_items, refit)
        run = await asyncio.to_thread(curation.run_digests)
        built, sent = run.built, run.delivery.sent
    except Exception:  # a failing job must not stop the service; the next tick retries
        log.exception("scheduled digest work failed")
    try:  # the recorded digests to Slack / Teams webhooks, after the e-mail (issue 14)
        await asyncio.to_thread(deliver_channels, curation.engine, curation.settings)
    except Exception:
        log.exception("scheduled chat posts failed")
    try:  # the curators' insight figures, when old: off the API's request path (issue 13)
        refreshed = await asyncio.to_thread(curation.insights.refresh)
        if refreshed:
            log.info("insight figures recomputed: %s", ", ".join(refreshed))
    except Exception:
        log.exception("recomputing the insight figures failed; the previous ones stay")
    if curation.xapi.enabled:  # xAPI statements for the LRS, after the digests (issue 14)
        try:
            xapi = await asyncio.to_thread(curation.xapi.run)
            log.info("xapi: %s", xapi.line())
        except Exception:
            log.exception("scheduled xAPI flush failed")
    return TickReport(line, refit, built, sent)


async def run_scheduler(curation: Curation, stop: asyncio.Event) -> None:
    """Tick every ``scheduler_tick_seconds`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            await tick(curation)
        except Exception:
            log.exception("scheduler tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=curation.settings.scheduler_tick_seconds)
