"""``/workspace/sources`` (curators): every source's health at a glance, and the forms that
add (by URL, with feed discovery on a web page), import and export OPML, rename, recategorise,
pause, resume and delete. The same domain calls as ``/v1/sources``; adding counts against
``CURATION_RATE_LIMIT_SUBMISSIONS`` like the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app import convert
from app.deps import DomainDep, rate_limits
from app.inline import quick_read
from app.ratelimits import client_address
from app.schemas import MAX_ID, SourceOut
from app.web import render, session
from app.web.access import CuratorPage, Form, WebRoute, attempt, text
from curation.errors import InvalidInput
from curation.ingest.sources import ImportReport
from curation.people.records import PersonRecord

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
IMPORT_PATH = "/workspace/sources/import"
PAGE_SIZE = 50  # each row counts its source's items: ~8 ms a page of 100 at 100k items
SourceId = Annotated[int, Path(ge=1, le=MAX_ID)]
BACK = "/workspace/sources"


@router.get("", response_class=HTMLResponse)
def workspace(request: Request, _: CuratorPage) -> Response:
    return render.redirect(BACK)


@router.get("/sources", response_class=HTMLResponse)
@quick_read
def list_sources(
    request: Request,
    _: CuratorPage,
    domain: DomainDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    page = domain.sources.page(limit=PAGE_SIZE, cursor=cursor)
    shown = [convert.source_shown(s) for s in page.items]
    return render.page(
        request, "sources.html", sources=shown, next_cursor=page.next_cursor, section="sources"
    )


def _submission(request: Request, curator: PersonRecord) -> None:
    rate_limits(request).submission(f"web-session:{curator.id}", client_address(request.scope))


@router.post("/sources")
def add_source(request: Request, curator: CuratorPage, form: Form, domain: DomainDep) -> Response:
    url = text(form, "url").strip()

    def act() -> SourceOut:
        if not url:
            raise InvalidInput("enter the URL of a feed or of a site's page")
        _submission(request, curator)
        added = domain.sources.add(
            url,
            title=text(form, "title").strip() or None,
            category=text(form, "category").strip() or None,
        )
        return convert.source(added.source)

    attempt(request, act, lambda s: f"Added source {s.id}: {s.title or s.url}")
    return render.redirect(BACK)


@router.post("/sources/import")
async def import_opml(
    request: Request, curator: CuratorPage, form: Form, domain: DomainDep
) -> Response:
    upload = form.get("opml")
    if not isinstance(upload, UploadFile):
        session.flash(request, "choose an OPML file to import", "error")
        return render.redirect(BACK)
    body = await upload.read()

    def act() -> ImportReport:
        _submission(request, curator)
        return domain.sources.import_opml(body)

    def done(report: ImportReport) -> str:
        skipped = "".join(f"; line {s.line}: {s.reason}" for s in report.skipped[:10])
        return f"OPML: {report.line()}{skipped}"

    await run_in_threadpool(attempt, request, act, done)
    return render.redirect(BACK)


@router.get("/sources/export")
def export_opml(_: CuratorPage, domain: DomainDep) -> Response:
    return Response(
        domain.sources.export_opml(),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sources.opml"'},
    )


@router.post("/sources/{source_id}")
def update_source(
    request: Request, source_id: SourceId, _: CuratorPage, form: Form, domain: DomainDep
) -> Response:
    """One form per source: rename / recategorise (``title``, ``category``), or a button
    ``action`` of ``pause``, ``resume`` or ``delete``."""
    action = text(form, "action")
    if action == "delete":
        attempt(
            request, lambda: domain.store.delete_source(source_id), f"Source {source_id} deleted."
        )
    elif action in ("pause", "resume"):
        attempt(
            request,
            lambda: domain.sources.update(source_id, active=action == "resume"),
            f"Source {source_id} {'paused' if action == 'pause' else 'resumed'}.",
        )
    else:
        attempt(
            request,
            lambda: domain.sources.update(
                source_id,
                title=text(form, "title").strip(),
                category=text(form, "category").strip(),
            ),
            f"Source {source_id} saved.",
        )
    return render.redirect(BACK)


@router.post("/ingest")
async def ingest_now(request: Request, _: CuratorPage, form: Form, domain: DomainDep) -> Response:
    """Fetch every due source now (as ``POST /v1/ingest``; one cycle at a time per process)."""
    lock = request.app.state.ingest_lock
    if lock.locked():
        session.flash(request, "an ingest cycle is already running", "error")
        return render.redirect(BACK)
    async with lock:
        summary = await domain.ingest_async()
    request.app.state.metrics.observe_ingest(
        [o.status for o in summary.outcomes], summary.new_items, summary.elapsed
    )
    session.flash(
        request, f"Fetched {len(summary.outcomes)} sources: {summary.new_items} new items."
    )
    return render.redirect(BACK)
