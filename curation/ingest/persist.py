"""Storing what a group of fetches found: items and validators, failures and next attempts.

:class:`Ingestor` records every source's outcome on its own row (status, last error, error
count, next attempt), stores all fetched feeds of a group in one transaction (a feed's items
always together with its validators), and batches not-modified sources into one statement.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from curation.errors import ParseError
from curation.ingest.document import CleanFeed
from curation.ingest.netpolicy import mask_credentials
from curation.ingest.outcomes import SourceOutcome
from curation.ingest.records import FetchResult
from curation.ingest.schedule import next_poll, next_retry
from curation.settings import Settings
from curation.storage.feeds import FeedWrite, Store
from curation.storage.sources import SourceRecord

__all__ = ["Fetched", "Ingestor"]

log = logging.getLogger(__name__)

# one fetched source: what the fetch found, and its clean feed (or why there is none)
Fetched = tuple[SourceRecord, FetchResult, CleanFeed | ParseError | None]


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
                    # the host that served these bytes speaks for its own articles
                    site_url=result.final_url or src.url,
                    item_key=src.item_key,
                    warnings=cleaned.warnings,  # the parser's notes for curators
                )
                writes.append((src, write, cleaned.skipped))
            elif result.status == 410:
                error = result.error or "HTTP 410 Gone"
                outcomes.append(self._fail(src, "gone", error, retire=True))
            else:
                status = "refused" if result.permanent_error else "error"
                error = result.error or f"HTTP {result.status}"
                outcomes.append(self._fail(src, status, error, retry_after=result.retry_after))
        saved = self.store.save_feeds(
            [w for _, w, _ in writes],
            now=self.now,
            next_attempt_at=next_poll(self.now, self.settings),
        )
        for (src, _, skipped), res in zip(writes, saved, strict=True):
            if isinstance(res, SQLAlchemyError):
                log.error("could not store %s: %s", mask_credentials(src.url), res)
                outcomes.append(self._fail(src, "error", f"storage error: {type(res).__name__}"))
            else:
                if res.warning:
                    log.warning("source %d %s: %s", src.id, mask_credentials(src.url), res.warning)
                outcomes.append(
                    SourceOutcome(
                        src.id,
                        src.url,
                        "ok",
                        res.new,
                        res.updated,
                        res.linked,
                        skipped,
                        warning=res.warning,
                    )
                )
        return outcomes

    def flush(self) -> None:
        """Write the batched not-modified outcomes (one statement for hundreds of sources)."""
        self.store.record_not_modified(
            self._not_modified, now=self.now, next_attempt_at=next_poll(self.now, self.settings)
        )
        self._not_modified.clear()

    def _fail(
        self,
        src: SourceRecord,
        status: str,
        error: str,
        *,
        retire: bool = False,
        retry_after: float | None = None,
    ) -> SourceOutcome:
        count = src.error_count + 1
        if retire:
            retry = None
        elif status == "refused":
            retry = next_retry(self.now, 99, self.settings, source_id=src.id)
        else:
            retry = next_retry(
                self.now, count, self.settings, source_id=src.id, retry_after=retry_after
            )
        self.store.record_failure(
            src.id, status=status, error=error, now=self.now, next_attempt_at=retry, retire=retire
        )
        return SourceOutcome(src.id, src.url, status, error=error)
