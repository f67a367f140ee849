"""``/v1/people``: admins create, list, change and delete people.

Creating a person returns their API key, once. An admin cannot delete themselves or take away
their own admin role through these endpoints (409: :func:`curation.people.rules.check_own_account`),
so an API can never lock itself out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app import convert
from app.deps import Admin, DomainDep
from app.params import Cursor, PageLimit
from app.schemas import (
    MAX_ID,
    ApiKeyOut,
    PersonCreate,
    PersonCreated,
    PersonOut,
    PersonPage,
    PersonPatch,
)
from curation.paging import check_limit, decode_cursor, page_of
from curation.people.records import NewPerson
from curation.people.rules import check_own_account

router = APIRouter(prefix="/v1/people", tags=["people"])
PersonId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("", status_code=201)
def create_person(body: PersonCreate, _: Admin, domain: DomainDep) -> PersonCreated:
    interests = [(i.phrase, i.weight) for i in body.interests]
    new = NewPerson(**body.model_dump(exclude={"interests"}), interests=interests)
    record, api_key = domain.people.create(new)
    return PersonCreated(**convert.person(record).model_dump(), api_key=api_key)


@router.get("")
def list_people(
    _: Admin,
    domain: DomainDep,
    limit: PageLimit = 50,
    cursor: Cursor = None,
) -> PersonPage:
    """Everyone, by id, a page at a time (pass ``next_cursor`` back as ``cursor``)."""
    after = decode_cursor(cursor) or 0
    rows = domain.people.list(after_id=after, limit=check_limit(limit) + 1)
    page = page_of(rows, limit)
    return PersonPage(people=[convert.person(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/{person_id}")
def get_person(person_id: PersonId, _: Admin, domain: DomainDep) -> PersonOut:
    return convert.person(domain.people.get(person_id))


@router.patch("/{person_id}")
def update_person(
    person_id: PersonId, body: PersonPatch, admin: Admin, domain: DomainDep
) -> PersonOut:
    changes = body.changes()
    check_own_account(admin.id, person_id, role=changes.get("role"))
    return convert.person(domain.people.update(person_id, **changes))


@router.delete("/{person_id}", status_code=204)
def delete_person(person_id: PersonId, admin: Admin, domain: DomainDep) -> Response:
    check_own_account(admin.id, person_id, deleting=True)
    domain.people.delete(person_id)
    return Response(status_code=204)


@router.post("/{person_id}/api-key")
def rotate_key(person_id: PersonId, _: Admin, domain: DomainDep) -> ApiKeyOut:
    """Issue a new API key for someone (shown once); their previous key stops working."""
    return ApiKeyOut(api_key=domain.people.rotate_key(person_id))
