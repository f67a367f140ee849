"""``/v1/sources`` and ``/v1/ingest`` (curators): feeds, OPML in and out, an ingest cycle now.

A new source's URL passes the same outbound-address policy as every fetch (422 when refused);
an OPML import skips, and reports, the outlines that policy refuses.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app import convert
from app.deps import Curator, Domain, DomainDep
from app.schemas import MAX_ID, ImportOut, IngestOut, SkippedOutline, SourceIn, SourceOut
from curation.errors import AddressRefused, Conflict
from curation.ingest.opml import OPMLSource, export_opml, read_opml
from curation.ingest.pipeline import ingest_async

router = APIRouter(tags=["sources"])
SourceId = Annotated[int, Path(ge=1, le=MAX_ID)]
OPML_TYPE = "text/x-opml"


@router.get("/v1/sources")
def list_sources(
    _: Curator,
    domain: DomainDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[SourceOut]:
    """Every source with its health, by id; at most ``limit``, after ``after_id``."""
    sources = sorted(domain.store.list_sources(), key=lambda s: s.id)
    return [convert.source(s) for s in sources if s.id > after_id][:limit]


@router.post("/v1/sources", status_code=201)
def add_source(body: SourceIn, _: Curator, domain: DomainDep) -> SourceOut:
    url = body.url.strip()
    domain.policy.check_url(url)
    record = domain.store.add_source(url, title=body.title, category=body.category)
    return convert.source(record)


@router.get("/v1/sources/export", response_class=Response)
def export_sources(_: Curator, domain: DomainDep) -> Response:
    """All sources as an OPML 2.0 document (importing it again is lossless)."""
    return Response(
        export_opml(domain.store.export_sources()),
        media_type=f"{OPML_TYPE}; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sources.opml"'},
    )


@router.get("/v1/sources/{source_id}")
def get_source(source_id: SourceId, _: Curator, domain: DomainDep) -> SourceOut:
    return convert.source(domain.store.get_source(source_id))


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
async def import_sources(request: Request, _: Curator, domain: DomainDep) -> ImportOut:
    """Add every feed of an OPML 1.0/2.0 document (the body); URLs already present are kept."""
    body = await request.body()
    return await run_in_threadpool(_import, domain, body)


def _import(domain: Domain, body: bytes) -> ImportOut:
    found = read_opml(body)
    skipped = [SkippedOutline(line=p.line, reason=p.reason, url=p.url) for p in found.problems]
    allowed: list[OPMLSource] = []
    for source in found.sources:
        try:
            domain.policy.check_url(source.url)
        except AddressRefused as exc:
            skipped.append(SkippedOutline(line=None, reason=exc.detail, url=source.url))
            continue
        allowed.append(source)
    added, present = domain.store.import_sources(allowed)
    return ImportOut(added=added, already_present=present, skipped=skipped)


@router.post("/v1/ingest", tags=["ingest"])
async def ingest_now(request: Request, _: Curator, domain: DomainDep) -> IngestOut:
    """Run one ingest cycle over every due source now and return its summary (409 if one is
    already running in this process)."""
    lock: asyncio.Lock = request.app.state.ingest_lock
    if lock.locked():
        raise Conflict("an ingest cycle is already running")
    async with lock:
        summary = await ingest_async(domain.store, domain.settings)
    request.app.state.metrics.observe_ingest(
        [o.status for o in summary.outcomes], summary.new_items, summary.elapsed
    )
    return convert.ingest_summary(summary)
