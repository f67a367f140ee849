"""Adding and changing sources: every path into the sources table goes through here and the
address policy.

The API, the CLI and ``curation run`` all call :class:`SourceService`, so a URL the outbound
policy refuses (:mod:`curation.ingest.netpolicy`) is refused the same way whichever door it
came through, and an OPML import reports the outlines it skipped with their line.

A source added one at a time is checked first (:meth:`SourceService.add`): its URL is fetched
with the product's fetcher and must be a feed with usable entries, or a web page that links to
one (:mod:`curation.ingest.discover`); the feed's title is kept when none is given. ``check=False``
skips the fetch (the address policy still applies): for a feed that is down for now, and for
tests. An OPML import is not checked, outline by outline: hundreds of fetches would take minutes;
ingest reports each source's health instead.

Source URLs may carry credentials (``https://user:pass@host/feed``): they are stored and used
for fetching, and masked in everything this module reports (:func:`mask_credentials`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from curation.clock import utcnow
from curation.errors import AddressRefused, Conflict, FeedCheckFailed, InvalidInput
from curation.ingest.discover import FoundFeed, find_feed
from curation.ingest.fetch import Fetcher
from curation.ingest.netpolicy import AddressPolicy, mask_credentials
from curation.ingest.opml import OPMLSource, export_opml, read_opml
from curation.paging import DEFAULT_LIMIT, Page
from curation.settings import Settings, get_settings
from curation.storage.sources import SourceRecord, SourceStore
from curation.textrules import has_control, has_line_break

__all__ = ["Added", "ImportReport", "SourceService", "Skipped"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

_MASK = "***"  # what mask_credentials puts in place of a password (or a lone user name)
MAX_TEXT = 500  # characters in a title or a category, as the API allows


@dataclass(frozen=True, slots=True)
class Skipped:
    """An outline an import left out, and why (``url`` with its credentials masked)."""

    line: int | None
    reason: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: int
    already_present: int
    skipped: tuple[Skipped, ...]

    def line(self) -> str:
        return (
            f"imported {self.added} new sources ({self.already_present} already present,"
            f" {len(self.skipped)} skipped)"
        )


@dataclass(frozen=True, slots=True)
class Added:
    """A source just added, and what its check found (None when added without a check)."""

    source: SourceRecord
    check: FoundFeed | None = None


def _blocking(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The blocking form of a coroutine function: same arguments, run by :func:`asyncio.run`."""

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(method(*args, **kwargs))

    return run


def _masked_on_export(url: str) -> bool:
    """True when ``url`` carries credentials an export masked (they cannot be used)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.password is not None:
        return parts.password == _MASK
    return parts.username == _MASK


class SourceService:
    def __init__(
        self, store: SourceStore, policy: AddressPolicy, settings: Settings | None = None
    ) -> None:
        self.store = store
        self.policy = policy
        self.settings = settings or get_settings()  # the fetch limits of a check

    async def add_async(
        self,
        url: str,
        *,
        title: str | None = None,
        category: str | None = None,
        check: bool = True,
    ) -> Added:
        """Add one feed, checked unless ``check`` is False (see the module docstring).

        Raises :class:`~curation.errors.AddressRefused` when the policy refuses the URL,
        :class:`~curation.errors.Conflict` when the feed is a source already, and
        :class:`~curation.errors.FeedCheckFailed` when the check finds no feed. :meth:`add` is
        the same call, blocking (it runs its own event loop): not for a running event loop.
        """
        url = url.strip()
        _check_text(title=title, category=category)
        self.policy.check_url(url)
        self._not_present(url)
        if not check:
            source = self.store.add_source(url, title=title, category=category)
            log.info("source %d added without a check: %s", source.id, mask_credentials(url))
            return Added(source)
        limit = self.settings.fetch_total_timeout  # for the whole check, links of a page included
        try:
            async with asyncio.timeout(limit), Fetcher(self.settings, self.policy) as fetcher:
                found = await find_feed(url, fetcher, self.policy)
        except TimeoutError:
            shown = mask_credentials(url)
            raise FeedCheckFailed(f"checking {shown} took too long (limit {limit:g} s)") from None
        if found.url != url:
            self._not_present(found.url)
        source = self.store.add_source(
            found.url,
            title=title or found.title,
            category=category,
            html_url=found.home_url,
        )
        log.info(
            "source %d added: %s (%s, %d entries)%s",
            source.id,
            mask_credentials(found.url),
            found.version,
            found.entries,
            f", found on {mask_credentials(url)}" if found.page_url else "",
        )
        return Added(source, found)

    add = _blocking(add_async)

    def _not_present(self, url: str) -> None:
        existing = self.store.find_source(url)
        if existing is not None:
            raise Conflict(
                f"a source with URL {mask_credentials(url)} already exists (source {existing.id})",
                resource_id=existing.id,
            )

    def update(
        self,
        source_id: int,
        *,
        title: str | None = None,
        category: str | None = None,
        active: bool | None = None,
    ) -> SourceRecord:
        """Rename, recategorise, pause (``active=False``) or resume a source; None keeps a value,
        an empty title or category clears it. A paused source is never polled; resuming makes
        it due now."""
        _check_text(title=title, category=category)
        return self.store.update_source(
            source_id, now=utcnow(), title=title, category=category, active=active
        )

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[SourceRecord]:
        """A page of sources by id; pass ``next_cursor`` back as ``cursor`` for the next."""
        return self.store.page_sources(limit=limit, cursor=cursor)

    def import_opml(self, document: bytes) -> ImportReport:
        """Add every feed of an OPML document that the policy allows, without fetching any; URLs
        already present are kept as they are. Outlines whose credentials an export masked are
        skipped: such a source must be added again with its credentials."""
        found = read_opml(document)
        skipped = [Skipped(p.line, p.reason, _shown(p.url)) for p in found.problems]
        allowed: list[OPMLSource] = []
        for source in found.sources:
            if _masked_on_export(source.url):
                reason = "its credentials were masked on export: add it again with them"
                skipped.append(Skipped(source.line, reason, _shown(source.url)))
                continue
            try:
                self.policy.check_url(source.url)
            except AddressRefused as exc:
                skipped.append(Skipped(source.line, exc.detail, _shown(source.url)))
                continue
            allowed.append(source)
        added, present = self.store.import_sources(allowed)
        skipped.sort(key=lambda s: (s.line is None, s.line or 0))
        return ImportReport(added, present, tuple(skipped))

    def export_opml(self) -> str:
        """Every source as an OPML 2.0 document. Importing it again is lossless except for
        credentials in URLs: they are masked (an export is a file people pass around), and the
        import skips such sources, saying so."""
        exported = [
            replace(s, url=mask_credentials(s.url), html_url=_shown(s.html_url))
            for s in self.store.export_sources()
        ]
        return export_opml(exported)


def _check_text(**values: str | None) -> None:
    """A title or category given by a person: one line, no control characters, at most
    :data:`MAX_TEXT` characters (None: not given)."""
    for name, value in values.items():
        if value is None:
            continue
        if has_control(value) or has_line_break(value) or "\t" in value:
            raise InvalidInput(f"{name} must be a single line without control characters")
        if len(value) > MAX_TEXT:
            raise InvalidInput(f"{name} must be at most {MAX_TEXT} characters")


def _shown(url: str | None) -> str | None:
    return mask_credentials(url) if url else url
