"""``/workspace/gems`` (curators): tag an item as a gem with a note and an audience (interest
phrases, one a line or comma-separated), edit both, remove it. As in the API, every curator
sees every gem and changes only their own (an admin any)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import DomainDep
from app.schemas import MAX_ID
from app.web import render
from app.web.access import CuratorPage, Form, WebRoute, attempt, text
from curation.errors import Forbidden, InvalidInput
from curation.people.records import PersonRecord
from curation.storage.gems import GemRecord

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
GemId = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 50
BACK = "/workspace/gems"


def audience_of(value: str) -> list[str]:
    """Audience phrases from a form field: one a line, or separated by commas."""
    return [p.strip() for line in value.splitlines() for p in line.split(",") if p.strip()]


def _own(gem: GemRecord, curator: PersonRecord) -> None:
    if gem.curator_id != curator.id and curator.role != "admin":
        raise Forbidden("only the curator who picked a gem, or an admin, may change it")


@router.get("/gems", response_class=HTMLResponse)
def list_gems(
    request: Request,
    _: CuratorPage,
    domain: DomainDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    page = domain.gems.list(limit=PAGE_SIZE, cursor=cursor)
    collections = getattr(domain, "collections", None)
    shown = collections.list() if collections is not None else None
    return render.page(
        request,
        "gems.html",
        gems=page.items,
        next_cursor=page.next_cursor,
        collections=shown,
        section="gems",
    )


@router.post("/gems")
def tag_gem(request: Request, curator: CuratorPage, form: Form, domain: DomainDep) -> Response:
    """From an item's page: ``item_id``, ``note``, ``audience``, optionally ``collection_id``
    (the new gem goes straight into that collection)."""
    item_id = text(form, "item_id")
    collection_id = text(form, "collection_id")

    def act() -> str:
        if not item_id.isdigit():
            raise InvalidInput("which item? (item_id)")
        gem = domain.gems.create(
            item_id=int(item_id),
            curator_id=curator.id,
            note=text(form, "note"),
            audience=audience_of(text(form, "audience")),
        )
        collections = getattr(domain, "collections", None)
        if collection_id.isdigit() and collections is not None:
            found = collections.add_gem(int(collection_id), gem.id)
            return f"Gem {gem.id} tagged and added to the collection {found.name}."
        return f"Gem {gem.id} tagged."

    attempt(request, act, lambda message: message)
    back = f"/workspace/items/{item_id}" if item_id.isdigit() else BACK
    return render.redirect(back)


@router.post("/gems/{gem_id}")
def edit_gem(
    request: Request, gem_id: GemId, curator: CuratorPage, form: Form, domain: DomainDep
) -> Response:
    """Save the note and audience, or (``action=delete``) remove the gem."""
    deleting = text(form, "action") == "delete"

    def act() -> None:
        _own(domain.gems.get(gem_id), curator)
        if deleting:
            domain.gems.delete(gem_id)
        else:
            domain.gems.update(
                gem_id, note=text(form, "note"), audience=audience_of(text(form, "audience"))
            )

    attempt(request, act, f"Gem {gem_id} {'removed' if deleting else 'saved'}.")
    return render.redirect(BACK)
