"""``/v1/sources`` and ``/v1/ingest`` (curators): feeds, OPML in and out, an ingest cycle now.

A new source's URL passes the same outbound-address policy as every fetch (422 when refused),
then is fetched and checked: a feed is added (with its own title when none is given), a web page
is searched for the feeds it links to and the first working one is added; anything else is a 422
saying why. ``?check=false`` adds without fetching. An OPML import is not fetched; it skips, and
reports, the outlines the policy refuses. Credentials in source URLs are masked in every answer.
Both ways of adding sources count against ``CURATION_RATE_LIMIT_SUBMISSIONS`` (429 beyond it).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app import convert
from app.deps import Curator, Domain, DomainDep, Submission
from app.inline import quick_read
from app.params import Cursor, PageLimit
from app.schemas import (
    MAX_ID,
    ImportOut,
    IngestOut,
    SkippedOutline,
    SourceAdded,
    SourceIn,
    SourceOut,
    SourcePage,
    SourcePatch,
)
from curation.errors import Conflict

router = APIRouter(tags=["sources"])
SourceId = Annotated[int, Path(ge=1, le=MAX_ID)]
OPML_TYPE = "text/x-opml"


@router.get("/v1/sources")
@quick_read
def list_sources(
    _: Curator,
    domain: DomainDep,
    limit: PageLimit = 20,
    cursor: Cursor = None,
) -> SourcePage:
    """The sources with their health, by id, a page at a time (pass ``next_cursor`` back as
    ``cursor``)."""
    page = domain.sources.page(limit=limit, cursor=cursor)
    return SourcePage(items=[convert.source(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/v1/sources", status_code=201)
def add_source(
    body: SourceIn,
    _: Curator,
    _limit: Submission,
    domain: DomainDep,
    check: Annotated[
        bool, Query(description="Fetch the URL first and add only a feed (or one it links to).")
    ] = True,
) -> SourceAdded:
    """Add a feed (409 if it is a source already). Checked by default: 422 saying why when the
    URL is neither a feed nor a web page linking to a working one."""
    added = domain.sources.add(body.url, title=body.title, category=body.category, check=check)
    return convert.source_added(added.source, added.check)


@router.get("/v1/sources/export", response_class=Response)
def export_sources(_: Curator, domain: DomainDep) -> Response:
    """All sources as an OPML 2.0 document; importing it again is lossless, except that
    credentials in URLs are masked (such sources are skipped by an import, saying so)."""
    return Response(
        domain.sources.export_opml(),
        media_type=f"{OPML_TYPE}; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sources.opml"'},
    )


@router.get("/v1/sources/{source_id}")
@quick_read
def get_source(source_id: SourceId, _: Curator, domain: DomainDep) -> SourceOut:
    return convert.source(domain.store.get_source(source_id))


@router.patch("/v1/sources/{source_id}")
def update_source(
    source_id: SourceId, body: SourcePatch, _: Curator, domain: DomainDep
) -> SourceOut:
    """Rename, recategorise, pause or resume a source (fields left out keep their value)."""
    return convert.source(domain.sources.update(source_id, **body.changes()))  # type: ignore[arg-type]


@router.delete("/v1/sources/{source_id}", status_code=204)
def delete_source(source_id: SourceId, _: Curator, domain: DomainDep) -> Response:
    """Delete a source and its links to items; the items themselves stay."""
    domain.store.delete_source(source_id)
    return Response(status_code=204)


_OPML_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            OPML_TYPE: {"schema": {"type": "string"}},
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/v1/sources/import", openapi_extra=_OPML_BODY)
async def import_sources(
    request: Request, _: Curator, _limit: Submission, domain: DomainDep
) -> ImportOut:
    """Add every feed of an OPML 1.0/2.0 document (the body); URLs already present are kept."""
    body = await request.body()
    return await run_in_threadpool(_import, domain, body)


def _import(domain: Domain, body: bytes) -> ImportOut:
    report = domain.sources.import_opml(body)
    return ImportOut(
        added=report.added,
        already_present=report.already_present,
        skipped=[SkippedOutline(line=s.line, reason=s.reason, url=s.url) for s in report.skipped],
    )


@router.post("/v1/ingest", tags=["ingest"])
async def ingest_now(request: Request, _: Curator, domain: DomainDep) -> IngestOut:
    """Run one ingest cycle over every due source now and return its summary (409 if one is
    already running in this process)."""
    lock: asyncio.Lock = request.app.state.ingest_lock
    if lock.locked():
        raise Conflict("an ingest cycle is already running")
    async with lock:
        summary = await domain.ingest_async()
    request.app.state.metrics.observe_ingest(
        [o.status for o in summary.outcomes], summary.new_items, summary.elapsed
    )
    return convert.ingest_summary(summary)
