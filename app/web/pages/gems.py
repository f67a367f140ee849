"""``/workspace/gems`` (curators): tag an item as a gem with a note, an audience (interest
phrases, one a line or comma-separated) and teams (checkboxes), edit all three, remove it. As
in the API, every curator sees every gem and changes only their own, an admin any
(:func:`curation.curate.rules.check_gem_changer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from app.deps import DomainDep
from app.inline import quick_read
from app.schemas import MAX_ID
from app.web import render
from app.web.access import CuratorPage, Form, WebRoute, attempt, text
from curation.curate.rules import check_gem_changer
from curation.errors import InvalidInput

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
GemId = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 50
BACK = "/workspace/gems"
#: a form that shows the team checkboxes says so: without it, its teams are left as they are
TEAMS_SHOWN = "teams_shown"


def entries_of(value: str) -> list[str]:
    """Entries of a form field (audience phrases, e-mail addresses): one a line, or separated
    by commas."""
    return [p.strip() for line in value.splitlines() for p in line.split(",") if p.strip()]


def teams_of(form: FormData) -> list[int] | None:
    """The team ids ticked in a form (``teams``), or None when the form shows no team boxes."""
    if TEAMS_SHOWN not in form:
        return None
    values = [v for v in form.getlist("teams") if isinstance(v, str)]
    if not all(v.isdigit() and 0 < int(v) <= MAX_ID for v in values):
        raise InvalidInput("which teams? (teams: team ids)")
    return [int(v) for v in values]


@router.get("/gems", response_class=HTMLResponse)
@quick_read
def list_gems(
    request: Request,
    _: CuratorPage,
    domain: DomainDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    page = domain.gems.list(limit=PAGE_SIZE, cursor=cursor)
    return render.page(
        request,
        "gems.html",
        gems=page.items,
        next_cursor=page.next_cursor,
        teams=domain.teams.choices(),  # each row's team boxes: ids and names only
        section="gems",
    )


@router.post("/gems")
def tag_gem(request: Request, curator: CuratorPage, form: Form, domain: DomainDep) -> Response:
    """From an item's page: ``item_id``, ``note``, ``audience``, ``teams`` (ticked boxes),
    optionally ``collection_id`` (the new gem goes straight into that collection)."""
    item_id = text(form, "item_id")
    collection_id = text(form, "collection_id")

    def act() -> str:
        if not item_id.isdigit():
            raise InvalidInput("which item? (item_id)")
        gem = domain.gems.create(
            item_id=int(item_id),
            curator_id=curator.id,
            note=text(form, "note"),
            audience=entries_of(text(form, "audience")),
            teams=teams_of(form) or (),
        )
        for_teams = f" for {', '.join(name for _, name in gem.teams)}" if gem.teams else ""
        collections = getattr(domain, "collections", None)
        if collection_id.isdigit() and collections is not None:
            found = collections.add_gem(int(collection_id), gem.id)
            return f"Gem {gem.id} tagged{for_teams} and added to the collection {found.name}."
        return f"Gem {gem.id} tagged{for_teams}."

    attempt(request, act, lambda message: message)
    back = f"/workspace/items/{item_id}" if item_id.isdigit() else BACK
    return render.redirect(back)


@router.post("/gems/{gem_id}")
def edit_gem(
    request: Request, gem_id: GemId, curator: CuratorPage, form: Form, domain: DomainDep
) -> Response:
    """Save the note, audience and teams, or (``action=delete``) remove the gem."""
    deleting = text(form, "action") == "delete"

    def act() -> None:
        gem = domain.gems.get(gem_id)
        check_gem_changer(gem.id, gem.curator_id, person_id=curator.id, role=curator.role)
        if deleting:
            domain.gems.delete(gem_id)
        else:
            domain.gems.update(
                gem_id,
                note=text(form, "note"),
                audience=entries_of(text(form, "audience")),
                teams=teams_of(form),
            )

    attempt(request, act, f"Gem {gem_id} {'removed' if deleting else 'saved'}.")
    return render.redirect(BACK)
