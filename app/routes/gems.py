"""``/v1/gems`` (curators): pick an item for an audience and teams, with a note.

Every curator sees every gem; a curator changes or deletes only their own (another's is a 403,
since it is visible anyway), an admin any (:func:`curation.curate.rules.check_gem_changer`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app import convert
from app.deps import Curator, DomainDep
from app.inline import quick_read
from app.params import Cursor, PageLimit
from app.schemas import MAX_ID, GemIn, GemOut, GemPage, GemPatch
from curation.curate.rules import check_gem_changer

router = APIRouter(prefix="/v1/gems", tags=["gems"])
GemId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("", status_code=201)
def create_gem(body: GemIn, curator: Curator, domain: DomainDep) -> GemOut:
    """Recommend an item (409 if the caller already did); ``audience`` phrases are matched
    against people's interests when digests are built, and the members of ``teams`` get it
    whatever their interests (422 for a team that does not exist)."""
    record = domain.gems.create(
        item_id=body.item_id,
        curator_id=curator.id,
        note=body.note,
        audience=body.audience,
        teams=body.teams,
    )
    return convert.gem(record)


@router.get("")
@quick_read
def list_gems(
    _: Curator,
    domain: DomainDep,
    item_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    curator_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: PageLimit = 20,
    cursor: Cursor = None,
) -> GemPage:
    """Newest first, a page at a time (pass ``next_cursor`` back as ``cursor``)."""
    page = domain.gems.list(limit=limit, cursor=cursor, item_id=item_id, curator_id=curator_id)
    return GemPage(gems=[convert.gem(g) for g in page.items], next_cursor=page.next_cursor)


@router.get("/{gem_id}")
@quick_read
def get_gem(gem_id: GemId, _: Curator, domain: DomainDep) -> GemOut:
    return convert.gem(domain.gems.get(gem_id))


@router.patch("/{gem_id}")
def change_gem(gem_id: GemId, body: GemPatch, curator: Curator, domain: DomainDep) -> GemOut:
    """Change any of ``note``, ``audience`` and ``teams`` (each replaces what was there; what
    is left out is kept). A team that does not exist is a 422, and nothing changes."""
    gem = domain.gems.get(gem_id)
    check_gem_changer(gem.id, gem.curator_id, person_id=curator.id, role=curator.role)
    return convert.gem(domain.gems.update(gem_id, **body.changes()))


@router.delete("/{gem_id}", status_code=204)
def delete_gem(gem_id: GemId, curator: Curator, domain: DomainDep) -> Response:
    gem = domain.gems.get(gem_id)
    check_gem_changer(gem.id, gem.curator_id, person_id=curator.id, role=curator.role)
    domain.gems.delete(gem_id)
    return Response(status_code=204)
