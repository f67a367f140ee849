"""``/workspace/teams`` (admins): the teams with their member counts and leads; create one,
delete one; a team's page sets its membership by e-mail addresses (members and leads, one a
line or comma-separated). As in the API, an address nobody has is refused naming it, and the
membership is left as it was (:meth:`curation.storage.people.PeopleStore.ids_by_email`,
:meth:`curation.teams.service.TeamService.set_members`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import Domain, DomainDep
from app.schemas import MAX_ID
from app.web import render
from app.web.access import AdminPage, Form, WebRoute, attempt, text
from app.web.pages.gems import entries_of
from curation.errors import InvalidInput

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
TeamId = Annotated[int, Path(ge=1, le=MAX_ID)]
BACK = "/workspace/teams"


@router.get("/teams", response_class=HTMLResponse)
def list_teams(request: Request, _: AdminPage, domain: DomainDep) -> HTMLResponse:
    teams = domain.teams.list()
    leads = domain.teams.leads_of(t.id for t in teams)
    return render.page(request, "teams.html", teams=teams, leads=leads, section="teams")


@router.post("/teams")
def create_team(request: Request, _: AdminPage, form: Form, domain: DomainDep) -> Response:
    """A new team, without members: its page opens to add them."""
    made: list[int] = []

    def act() -> str:
        team = domain.teams.create(text(form, "name"))
        made.append(team.id)
        return f"Team {team.name} created: add its members below."

    attempt(request, act, lambda message: message)
    return render.redirect(f"{BACK}/{made[0]}" if made else BACK)


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def show_team(request: Request, team_id: TeamId, _: AdminPage, domain: DomainDep) -> HTMLResponse:
    return _team_page(request, domain, team_id)


def _team_page(
    request: Request,
    domain: Domain,
    team_id: int,
    typed: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The team's page; ``typed``: the members and leads fields as the admin sent them (kept
    when they were refused, so nothing typed is lost)."""
    team, members = domain.teams.get(team_id)
    if typed is None:
        typed = (
            "\n".join(m.email for m in members if m.role != "lead"),
            "\n".join(m.email for m in members if m.role == "lead"),
        )
    return render.page(
        request,
        "team.html",
        status=status,
        team=team,
        members=members,
        members_text=typed[0],
        leads_text=typed[1],
        section="teams",
    )


@router.post("/teams/{team_id}")
def change_team(
    request: Request, team_id: TeamId, _: AdminPage, form: Form, domain: DomainDep
) -> Response:
    """``action``: ``members`` (the ``members`` and ``leads`` fields: every address the team
    has after this; leads are members too) or ``delete``."""
    action = text(form, "action")
    if action == "delete":

        def delete() -> str:
            team = domain.teams.get(team_id)[0]
            domain.teams.delete(team_id)
            return f"Team {team.name} deleted."

        attempt(request, delete, lambda message: message)
        return render.redirect(BACK)

    typed = (text(form, "members"), text(form, "leads"))

    def set_members() -> str:
        if action != "members":
            raise InvalidInput("unknown action")
        members, leads = entries_of(typed[0]), entries_of(typed[1])
        # one lookup for both fields: every unknown address is named at once
        ids = domain.people.ids_by_email([*members, *leads])
        lead_ids = [ids[a] for a in leads]
        done = domain.teams.set_members(team_id, [ids[a] for a in members], lead_ids)
        n_leads = sum(1 for m in done if m.role == "lead")
        return f"Members saved: {len(done)}, of whom {n_leads} lead{'' if n_leads == 1 else 's'}."

    if attempt(request, set_members, lambda message: message):
        return render.redirect(f"{BACK}/{team_id}")
    return _team_page(request, domain, team_id, typed=typed, status=422)
