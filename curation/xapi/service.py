"""xAPI as one call: collect new events into the outbox, then send what is due.

Built by :func:`curation.services.make_curation`; ``curation xapi flush`` and the scheduler
(only when ``CURATION_XAPI_URL`` is set) call :meth:`XapiService.run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from curation.clock import utcnow
from curation.settings import Settings
from curation.storage.xapi import XapiStore
from curation.xapi.client import XapiClient
from curation.xapi.collector import CollectReport, collect
from curation.xapi.outbox import FlushReport, flush


@dataclass(frozen=True, slots=True)
class XapiRun:
    collected: CollectReport
    flushed: FlushReport | None  # None: no LRS configured (statements stay queued)
    pending: int

    def line(self) -> str:
        sent = self.flushed.line() if self.flushed else "no CURATION_XAPI_URL: nothing sent"
        return f"{self.collected.queued} statements queued; {sent}; {self.pending} pending"


class XapiService:
    def __init__(self, settings: Settings, store: XapiStore) -> None:
        self.settings = settings
        self.store = store

    @property
    def enabled(self) -> bool:
        return bool(self.settings.xapi_url.strip())

    def client(self) -> XapiClient:
        s = self.settings
        return XapiClient(
            s.xapi_url.strip(),
            user=s.xapi_user,
            password=s.xapi_password.get_secret_value(),
            timeout=s.xapi_timeout,
        )

    def collect(self, now: datetime | None = None) -> CollectReport:
        return collect(self.store, base_url=self.settings.base_url, now=now or utcnow())

    def run(self, now: datetime | None = None) -> XapiRun:
        """Collect, then send what is due when an LRS is configured."""
        now = now or utcnow()
        collected = self.collect(now)
        flushed = None
        if self.enabled:
            flushed = flush(self.store, self.client(), now=now, batch=self.settings.xapi_batch_size)
        return XapiRun(collected, flushed, self.store.counts().get("pending", 0))
