"""``/workspace/people`` (admins): list, add (the new API key is shown once), change a role,
delete. As in the API, an admin cannot delete themselves or take away their own admin role
(:func:`curation.people.rules.check_own_account`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import Domain, DomainDep
from app.schemas import MAX_ID
from app.web import render
from app.web.access import AdminPage, Form, WebRoute, attempt, text
from curation.people.records import NewPerson
from curation.people.rules import check_own_account
from curation.vocab import ROLES

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
PersonId = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 100
BACK = "/workspace/people"


@router.get("/people", response_class=HTMLResponse)
def list_people(
    request: Request,
    _: AdminPage,
    domain: DomainDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    return _page(request, domain, after)


def _page(
    request: Request, domain: Domain, after: int = 0, new_key: tuple[str, str] | None = None
) -> HTMLResponse:
    rows = domain.people.list(after_id=after, limit=PAGE_SIZE + 1)
    more = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render.page(
        request,
        "people.html",
        people=rows[:PAGE_SIZE],
        next_after=more,
        roles=ROLES,
        new_key=new_key,
        section="people",
    )


@router.post("/people")
def add_person(request: Request, _: AdminPage, form: Form, domain: DomainDep) -> Response:
    """On success the page itself shows the new API key, once (it is stored nowhere)."""
    made: list[tuple[str, str]] = []

    def act() -> str:
        record, key = domain.people.create(
            NewPerson(
                email=text(form, "email"),
                name=text(form, "name"),
                role=text(form, "role") or "learner",
            )
        )
        made.append((record.email, key))
        return f"Added {record.name} ({record.role})."

    if attempt(request, act, lambda message: message):
        return _page(request, domain, new_key=made[0])
    return render.redirect(BACK)


@router.post("/people/{person_id}")
def change_person(
    request: Request, person_id: PersonId, admin: AdminPage, form: Form, domain: DomainDep
) -> Response:
    """``action``: ``role`` (with ``role``) or ``delete``."""
    action = text(form, "action")

    def act() -> str:
        if action == "delete":
            check_own_account(admin.id, person_id, deleting=True)
            domain.people.delete(person_id)
            return f"Person {person_id} deleted."
        role = text(form, "role")
        check_own_account(admin.id, person_id, role=role)
        domain.people.update(person_id, role=role)
        return f"Person {person_id} is now a {role}."

    attempt(request, act, lambda message: message)
    return render.redirect(BACK)
