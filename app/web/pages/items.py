"""``/workspace/items`` (curators): search (best match first, via the store's full-text search)
with filters by source, category (a category holds those below it) and first-seen date; an
item's page with its text (sanitised HTML only), the sources that carried it, its gems, and who
it would reach (the insight service's :meth:`item_reach`: the declared interests it matches and
for how many people)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from app.deps import DomainDep
from app.inline import quick_read
from app.schemas import MAX_ID
from app.web import render
from app.web.access import CuratorPage, WebRoute
from curation.errors import InvalidInput
from curation.paging import MAX_LIMIT

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 30


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise InvalidInput("the date must read YYYY-MM-DD") from None


@router.get("/items", response_class=HTMLResponse)
@quick_read
def search(
    request: Request,
    _: CuratorPage,
    domain: DomainDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    source_id: Annotated[str | None, Query(max_length=12)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=500)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    source = int(source_id) if source_id and source_id.isdigit() else None
    page = domain.items.list(
        source_id=source,
        q=q or None,
        since=_day(since),
        category=category or None,
        limit=PAGE_SIZE,
        cursor=cursor,
        with_sources=False,  # the list shows each item's origin source only
    )
    # the filter's choices: id, title and category of each source, nothing more
    sources = domain.store.source_choices(limit=MAX_LIMIT)
    categories = sorted({s.category for s in sources if s.category})
    return render.page(
        request,
        "items.html",
        items=page.items,
        next_cursor=page.next_cursor,
        q=q or "",
        source_id=source,
        since=since or "",
        sources=sources,
        category=category or "",
        categories=categories,
        section="items",
    )


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(
    request: Request,
    item_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    _: CuratorPage,
    domain: DomainDep,
) -> HTMLResponse:
    item = domain.items.get(item_id)
    gems = domain.gems.list(item_id=item_id, limit=MAX_LIMIT).items
    insights = getattr(domain, "insights", None)
    reach = insights.item_reach(item_id, known=True) if insights is not None else None
    collections = getattr(domain, "collections", None)
    return render.page(
        request,
        "item.html",
        item=item,
        gems=gems,
        reach=reach,
        # the tag form's choices: ids and names only (no gem or member counts)
        collections=collections.choices() if collections is not None else None,
        teams=domain.teams.choices(),
        section="items",
    )
