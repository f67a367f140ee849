"""``/v1/items`` (curators): browse and search what ingest stored.

Newest first, paged by an opaque cursor. ``since`` compares with when an item was first seen;
``q`` is full-text search in which every word must appear (see :mod:`curation.storage.items`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app import convert
from app.deps import Curator, DomainDep
from app.inline import quick_read
from app.params import Cursor, PageLimit
from app.schemas import MAX_ID, Instant, ItemDetail, ItemPage, Line

router = APIRouter(prefix="/v1/items", tags=["items"])


@router.get("")
@quick_read
def list_items(
    _: Curator,
    domain: DomainDep,
    source_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[
        Line | None, Query(max_length=200, description="Words that must all appear")
    ] = None,
    since: Annotated[
        Instant | None,
        Query(description="Only items first seen at or after this instant (naive means UTC)."),
    ] = None,
    limit: PageLimit = 20,
    cursor: Cursor = None,
) -> ItemPage:
    page = domain.items.list(source_id=source_id, q=q, since=since, limit=limit, cursor=cursor)
    return ItemPage(items=[convert.item(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/{item_id}")
@quick_read
def get_item(
    item_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: Curator, domain: DomainDep
) -> ItemDetail:
    return convert.item_detail(domain.items.get(item_id))
