"""``/v1/collections`` (curators) and the collections' public feeds ``/v1/feeds/{token}.*``.

A collection is a named, ordered list of gems shared by the curators' team. Its feeds need no
authentication: the unguessable token in the URL is the only key, ``rotate`` replaces it (the
old URLs then answer 404). Feeds carry an ``ETag`` and answer ``If-None-Match`` with 304, so
readers that poll cost little.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app import convert
from app.deps import Curator, DomainDep
from app.inline import quick_read
from app.schemas import (
    MAX_ID,
    CollectionDetail,
    CollectionGemIn,
    CollectionGemMove,
    CollectionIn,
    CollectionList,
    CollectionOut,
)
from curation.curate.collection_service import CollectionRecord
from curation.curate.feeds import ATOM_TYPE, JSON_FEED_TYPE

router = APIRouter(prefix="/v1/collections", tags=["collections"])
feeds = APIRouter(prefix="/v1/feeds", tags=["collections"])
CollectionId = Annotated[int, Path(ge=1, le=MAX_ID)]
GemId = Annotated[int, Path(ge=1, le=MAX_ID)]
Token = Annotated[str, Path(max_length=64)]
_FEED_HEADERS = {
    "Cache-Control": "public, max-age=60",  # a rotated token stops working within a minute
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _out(record: CollectionRecord) -> CollectionOut:
    return CollectionOut(
        id=record.id,
        name=record.name,
        description=record.description,
        feed_url=record.feed_url,
        json_feed_url=record.json_feed_url,
        gem_count=record.gem_count,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _detail(record: CollectionRecord) -> CollectionDetail:
    return CollectionDetail(**_out(record).model_dump(), gems=[convert.gem(g) for g in record.gems])


@router.post("", status_code=201)
def create_collection(body: CollectionIn, curator: Curator, domain: DomainDep) -> CollectionOut:
    """A new, empty collection; its feed URLs are public at once (and empty)."""
    return _out(domain.collections.create(body.name, body.description, curator.id))


@router.get("")
@quick_read
def list_collections(_: Curator, domain: DomainDep) -> CollectionList:
    """Every collection, newest first (without their gems: see ``gem_count``)."""
    return CollectionList(collections=[_out(c) for c in domain.collections.list()])


@router.get("/{collection_id}")
@quick_read
def get_collection(collection_id: CollectionId, _: Curator, domain: DomainDep) -> CollectionDetail:
    return _detail(domain.collections.get(collection_id))


@router.delete("/{collection_id}", status_code=204)
def delete_collection(collection_id: CollectionId, _: Curator, domain: DomainDep) -> Response:
    domain.collections.delete(collection_id)
    return Response(status_code=204)


@router.post("/{collection_id}/gems")
def add_gem(
    collection_id: CollectionId, body: CollectionGemIn, _: Curator, domain: DomainDep
) -> CollectionDetail:
    """Add a gem at the end, or at ``position`` (409 when it is already there; at most 500)."""
    return _detail(domain.collections.add_gem(collection_id, body.gem_id, body.position))


@router.patch("/{collection_id}/gems/{gem_id}")
def move_gem(
    collection_id: CollectionId,
    gem_id: GemId,
    body: CollectionGemMove,
    _: Curator,
    domain: DomainDep,
) -> CollectionDetail:
    """Move a gem of the collection to another position (1 is first)."""
    return _detail(domain.collections.move_gem(collection_id, gem_id, body.position))


@router.delete("/{collection_id}/gems/{gem_id}", status_code=204)
def remove_gem(
    collection_id: CollectionId, gem_id: GemId, _: Curator, domain: DomainDep
) -> Response:
    domain.collections.remove_gem(collection_id, gem_id)
    return Response(status_code=204)


@router.post("/{collection_id}/rotate")
def rotate_token(collection_id: CollectionId, _: Curator, domain: DomainDep) -> CollectionOut:
    """New feed URLs; the old ones answer 404 from now on."""
    return _out(domain.collections.rotate_token(collection_id))


# ---- the public feeds (no authentication) ------------------------------------------------------


def _feed(request: Request, body: bytes, media_type: str) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**_FEED_HEADERS, "ETag": etag}
    wanted = request.headers.get("if-none-match", "")
    if etag in (tag.strip() for tag in wanted.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@feeds.get("/{token}.atom", response_class=Response)
def atom_feed(token: Token, request: Request, domain: DomainDep) -> Response:
    """The collection as Atom; 404 for a token that is not (or no longer) a collection's."""
    return _feed(request, domain.collections.atom(token), f"{ATOM_TYPE}; charset=utf-8")


@feeds.get("/{token}.json", response_class=Response)
def json_feed(token: Token, request: Request, domain: DomainDep) -> Response:
    """The collection as JSON Feed 1.1."""
    return _feed(request, domain.collections.json_feed(token), f"{JSON_FEED_TYPE}; charset=utf-8")
