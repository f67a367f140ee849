"""``/v1/me/saved``, ``/v1/me/notes/{item_id}``, ``/v1/me/portfolio``: what a person keeps.

Saving is the ``saved`` feedback signal (``POST /v1/me/feedback {item_id, signal: "saved"}``,
the e-mail's "Save for later" link, the web page's button); un-saving is ``DELETE
/v1/me/saved/{item_id}``. Everything here acts on the authenticated person only: no path, query
or body names a person, so nobody -- an admin included -- reads or fills another's portfolio.
A thin shell over :class:`curation.portfolio.service.PortfolioService`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app import convert
from app.deps import DomainDep, Learner
from app.params import Cursor, PageLimit
from app.portfolio_schemas import ImportReportOut, NoteIn, NoteOut, SavedItemOut, SavedPage
from curation.clock import utcnow
from curation.errors import InvalidInput

router = APIRouter(prefix="/v1/me", tags=["portfolio"])

IMPORT_PATH = "/v1/me/portfolio/import"
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/saved")
def saved(
    me: Learner, domain: DomainDep, limit: PageLimit = 20, cursor: Cursor = None
) -> SavedPage:
    """My saved items, the most recently saved first, each with my note on it (if any)."""
    page = domain.portfolio.saved(me.id, limit=limit, cursor=cursor)
    return SavedPage(
        items=[
            SavedItemOut(item=convert.item(v.item), saved_at=v.saved_at, note=v.note)
            for v in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.delete("/saved/{item_id}", status_code=204)
def unsave(item_id: ItemId, me: Learner, domain: DomainDep) -> Response:
    """Take an item off my saved items (404 when it is not on them). My note on it stays."""
    domain.portfolio.unsave(me.id, item_id)
    return Response(status_code=204)


@router.put("/notes/{item_id}")
def set_note(item_id: ItemId, body: NoteIn, me: Learner, domain: DomainDep) -> NoteOut:
    """Write (or replace) my own note on an item: plain text, at most 2,000 characters. Only I
    see it; it goes with the item into my portfolio."""
    note = domain.portfolio.set_note(me.id, item_id, body.note, utcnow())
    return NoteOut(
        item_id=note.item_id, note=note.note, created_at=note.created_at, updated_at=note.updated_at
    )


@router.delete("/notes/{item_id}", status_code=204)
def delete_note(item_id: ItemId, me: Learner, domain: DomainDep) -> Response:
    domain.portfolio.delete_note(me.id, item_id)
    return Response(status_code=204)


@router.get(
    "/portfolio",
    response_class=Response,
    responses={
        200: {
            "description": "The portfolio as a file (attachment).",
            "content": {"application/json": {}, "application/atom+xml": {}},
        }
    },
)
def export_portfolio(
    me: Learner,
    domain: DomainDep,
    format: Annotated[  # noqa: A002 - the query parameter's name
        Literal["json", "atom", "xapi"],
        Query(description="json: the document an import reads; atom: a feed; xapi: statements"),
    ] = "json",
) -> Response:
    """My portfolio -- the items I saved or found useful, my notes on them and what I shared
    with my teams -- as a file to keep or take elsewhere: `json` (versioned, self-contained:
    what `POST /v1/me/portfolio/import` reads), `atom` (a feed), `xapi` (a JSON array of xAPI
    statements, with the ids the LRS outbox gives them)."""
    file = domain.portfolio.export(me, format, utcnow())
    return Response(
        content=file.body,
        media_type=file.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post(IMPORT_PATH.removeprefix("/v1/me"))
async def import_portfolio(request: Request, me: Learner, domain: DomainDep) -> ImportReportOut:
    """Restore a JSON export (the body, `application/json`) into my account: items found by
    their canonical URL or stored anew, my saved / useful signals and notes added where
    missing (a note I already have here is kept). Importing the same file again changes
    nothing. Shares are listed in the file but not re-shared. Bodies over
    `CURATION_PORTFOLIO_MAX_IMPORT_BYTES` are a 413, more than
    `CURATION_PORTFOLIO_MAX_IMPORT_ITEMS` items a 422."""
    content_type = request.headers.get("content-type", "")
    if content_type and not content_type.startswith("application/json"):
        raise InvalidInput("send the portfolio as application/json")
    raw = await request.body()
    report = await run_in_threadpool(domain.portfolio.import_, me, raw, utcnow())
    return ImportReportOut.model_validate(report, from_attributes=True)
