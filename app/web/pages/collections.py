"""``/workspace/collections`` (curators): named, ordered collections of gems, each published
as Atom and JSON Feed at a public URL with an unguessable token; create one, add and remove
gems, see the feed URLs, rotate the token. The domain is ``curation.collections``
(:mod:`curation.curate.collection_service`); without it the page says it is not available."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import Domain, DomainDep
from app.inline import quick_read
from app.schemas import MAX_ID
from app.web import render
from app.web.access import CuratorPage, Form, PageRefused, WebRoute, attempt, text
from curation.errors import InvalidInput
from curation.paging import MAX_LIMIT

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
CollectionId = Annotated[int, Path(ge=1, le=MAX_ID)]
BACK = "/workspace/collections"


def _service(domain: Domain):  # noqa: ANN202 - the collection service, when it is there
    service = getattr(domain, "collections", None)
    if service is None:
        raise PageRefused(503, "Not available", "collections are not available in this build")
    return service


@router.get("/collections", response_class=HTMLResponse)
@quick_read
def list_collections(request: Request, _: CuratorPage, domain: DomainDep) -> HTMLResponse:
    service = getattr(domain, "collections", None)
    shown = service.list() if service is not None else None
    return render.page(request, "collections.html", collections=shown, section="collections")


@router.post("/collections")
def create(request: Request, curator: CuratorPage, form: Form, domain: DomainDep) -> Response:
    service = _service(domain)
    made: list[int] = []

    def act() -> str:
        found = service.create(text(form, "name"), text(form, "description"), curator.id)
        made.append(found.id)
        return f"Collection {found.name} created."

    attempt(request, act, lambda message: message)
    return render.redirect(f"{BACK}/{made[0]}" if made else BACK)


@router.get("/collections/{collection_id}", response_class=HTMLResponse)
@quick_read
def show(
    request: Request, collection_id: CollectionId, _: CuratorPage, domain: DomainDep
) -> HTMLResponse:
    service = _service(domain)
    found = service.get(collection_id)
    candidates = service.candidates(collection_id, limit=MAX_LIMIT)
    return render.page(
        request,
        "collection.html",
        collection=found,
        candidates=candidates,
        section="collections",
    )


@router.post("/collections/{collection_id}")
def change(
    request: Request,
    collection_id: CollectionId,
    _: CuratorPage,
    form: Form,
    domain: DomainDep,
) -> Response:
    """``action``: ``add`` (``gem_id``), ``remove`` (``gem_id``) or ``rotate`` (a new token)."""
    service = _service(domain)
    action, gem_id = text(form, "action"), text(form, "gem_id")

    def act() -> str:
        if action == "rotate":
            service.rotate_token(collection_id)
            return "New feed URLs: the old ones no longer work."
        if not gem_id.isdigit():
            raise InvalidInput("which gem? (gem_id)")
        if action == "add":
            service.add_gem(collection_id, int(gem_id))
            return f"Gem {gem_id} added."
        if action == "remove":
            service.remove_gem(collection_id, int(gem_id))
            return f"Gem {gem_id} removed."
        raise InvalidInput("unknown action")

    attempt(request, act, lambda message: message)
    return render.redirect(f"{BACK}/{collection_id}")
