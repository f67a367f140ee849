"""``/v1/teams`` (admins; curators may list) and ``/v1/me/teams``, ``/v1/me/shares``.

Admins create teams and set their members; anyone signed in sees their own teams and shares
items with them, within the over-sharing guard (:mod:`curation.teams`): not into a team they
are not in (403), one share of an item per team (409), a weekly budget (429 saying when it
frees up). A share can be withdrawn by its sharer until a teammate's digest carried it (409).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.deps import Admin, Curator, DomainDep, Learner
from app.schemas import MAX_ID
from app.team_schemas import (
    MembersIn,
    MyShares,
    MyTeams,
    ShareIn,
    ShareOut,
    TeamDetail,
    TeamIn,
    TeamList,
    TeamOut,
    my_team_out,
    share_out,
    team_detail,
    team_out,
)

router = APIRouter(tags=["teams"])
TeamId = Annotated[int, Path(ge=1, le=MAX_ID)]
ShareId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/v1/teams", status_code=201)
def create_team(body: TeamIn, _: Admin, domain: DomainDep) -> TeamOut:
    """A new team, without members (409 when the name is taken)."""
    return team_out(domain.teams.create(body.name))


@router.get("/v1/teams")
def list_teams(_: Curator, domain: DomainDep) -> TeamList:
    """Every team with its member count (curators aim gems at teams)."""
    return TeamList(teams=[team_out(t) for t in domain.teams.list()])


@router.get("/v1/teams/{team_id}")
def get_team(team_id: TeamId, _: Admin, domain: DomainDep) -> TeamDetail:
    return team_detail(*domain.teams.get(team_id))


@router.put("/v1/teams/{team_id}/members")
def set_members(team_id: TeamId, body: MembersIn, _: Admin, domain: DomainDep) -> TeamDetail:
    """Replace the membership: ``person_ids`` (and ``lead_ids``, who are members as leads).
    An unknown person is a 422 naming them, and nothing changes."""
    domain.teams.set_members(team_id, body.person_ids, body.lead_ids)
    return team_detail(*domain.teams.get(team_id))


@router.delete("/v1/teams/{team_id}", status_code=204)
def delete_team(team_id: TeamId, _: Admin, domain: DomainDep) -> Response:
    """The team, its memberships and its shares go (past digests keep what they showed)."""
    domain.teams.delete(team_id)
    return Response(status_code=204)


@router.get("/v1/me/teams")
def my_teams(me: Learner, domain: DomainDep) -> MyTeams:
    return MyTeams(teams=[my_team_out(t) for t in domain.teams.teams_of(me.id)])


@router.post("/v1/me/shares", status_code=201)
def share(body: ShareIn, me: Learner, domain: DomainDep) -> ShareOut:
    """Share an item with one of your teams, with a short note; teammates find it in the
    "From your team" section of their next digest."""
    record = domain.teams.share(me, item_id=body.item_id, team_id=body.team_id, note=body.note)
    return share_out(record)


@router.get("/v1/me/shares")
def my_shares(me: Learner, domain: DomainDep) -> MyShares:
    """Your shares, newest first, and how many more the weekly budget allows now."""
    return MyShares(
        shares=[share_out(s) for s in domain.teams.my_shares(me.id)],
        budget_left=domain.teams.budget_left(me.id),
    )


@router.delete("/v1/me/shares/{share_id}", status_code=204)
def withdraw_share(share_id: ShareId, me: Learner, domain: DomainDep) -> Response:
    """Withdraw one of your shares, until a teammate's digest carried it (409 after)."""
    domain.teams.withdraw(me, share_id)
    return Response(status_code=204)
