"""API shapes of teams and shares (issue 15): what ``/v1/teams`` and ``/v1/me/shares`` take
and answer. Converted from the domain's records here; no rules (those are in
:mod:`curation.teams`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas import Id, Line, Strict, Text
from curation.storage.teams import MemberRecord, MyTeam, ShareRecord, TeamRecord
from curation.teams.rules import MAX_NOTE_CHARS, MAX_TEAM_NAME_CHARS

TeamName = Annotated[Line, Field(min_length=1, max_length=MAX_TEAM_NAME_CHARS, pattern=r"\S")]


class TeamIn(Strict):
    name: TeamName


class TeamOut(BaseModel):
    id: int
    name: str
    member_count: int
    created_at: datetime


class TeamList(BaseModel):
    teams: list[TeamOut]


class MemberOut(BaseModel):
    person_id: int
    name: str
    email: str
    role: Literal["member", "lead"]


class TeamDetail(TeamOut):
    members: list[MemberOut]


class MembersIn(Strict):
    person_ids: list[Id] = Field(max_length=5000, description="Everyone in the team after this.")
    lead_ids: list[Id] = Field(
        default_factory=list, max_length=100, description="Its leads (members too)."
    )


class MyTeamOut(BaseModel):
    id: int
    name: str
    role: Literal["member", "lead"]
    member_count: int


class MyTeams(BaseModel):
    teams: list[MyTeamOut]


class ShareIn(Strict):
    item_id: Id
    team_id: Id
    note: Annotated[Text, Field(max_length=MAX_NOTE_CHARS)] | None = Field(
        None, description=f"Why it is worth their time: plain text, ≤ {MAX_NOTE_CHARS} characters."
    )


class ShareOut(BaseModel):
    id: int
    item_id: int
    item_title: str
    team_id: int
    team_name: str
    note: str | None
    created_at: datetime


class MyShares(BaseModel):
    shares: list[ShareOut]
    budget_left: int = Field(description="Shares still possible in the rolling 7 days.")


def team_out(team: TeamRecord) -> TeamOut:
    return TeamOut(
        id=team.id, name=team.name, member_count=team.member_count, created_at=team.created_at
    )


def team_detail(team: TeamRecord, members: list[MemberRecord]) -> TeamDetail:
    return TeamDetail(
        **team_out(team).model_dump(),
        members=[
            MemberOut(person_id=m.person_id, name=m.name, email=m.email, role=m.role)
            for m in members
        ],  # type: ignore[arg-type]
    )


def my_team_out(team: MyTeam) -> MyTeamOut:
    return MyTeamOut(id=team.id, name=team.name, role=team.role, member_count=team.member_count)  # type: ignore[arg-type]


def share_out(share: ShareRecord) -> ShareOut:
    return ShareOut(
        id=share.id,
        item_id=share.item_id,
        item_title=share.item_title,
        team_id=share.team_id,
        team_name=share.team_name,
        note=share.note,
        created_at=share.created_at,
    )
