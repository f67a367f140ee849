"""Teams and sharing: who may do what, and the over-sharing guard at the moment of sharing.

Admins create teams and set their members (:meth:`TeamService.set_members`); a person shares
an item with one of *their* teams (403 otherwise), at most once per (item, team) (409), within
their weekly budget (429 naming the budget and when it frees up). A share can be withdrawn by
its sharer until a teammate's digest has carried it (409 after: it is in their digest for
good). Digests read the shares through :meth:`curation.storage.teams.TeamStore.offers_for`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from curation.clock import utcnow
from curation.errors import Conflict, Forbidden, NotFound, RateLimited
from curation.people.records import PersonRecord
from curation.records import Choice
from curation.storage.teams import (
    MemberRecord,
    MyTeam,
    ShareRecord,
    TeamRecord,
    TeamStore,
)
from curation.teams.rules import (
    BUDGET_WINDOW,
    budget_detail,
    budget_frees_at,
    clean_share_note,
    clean_team_name,
)

ROLES = ("member", "lead")


class ShareBudgetSpent(RateLimited):
    """The person's weekly share budget is spent; ``frees_at``: when the next share fits."""

    def __init__(self, detail: str, *, frees_at: datetime, now: datetime) -> None:
        super().__init__(detail, retry_after=max(1, int((frees_at - now).total_seconds()) + 1))
        self.frees_at = frees_at


class TeamService:
    def __init__(self, store: TeamStore, *, weekly_budget: int) -> None:
        self.store = store
        self.weekly_budget = weekly_budget

    # ---- teams (admins) --------------------------------------------------------------------

    def create(self, name: str, now: datetime | None = None) -> TeamRecord:
        return self.store.create(clean_team_name(name), now=now or utcnow())

    def list(self) -> list[TeamRecord]:
        return self.store.list()

    def choices(self) -> list[Choice]:
        """Every team's id and name (no member counts): what a form's team boxes show."""
        return self.store.choices()

    def get(self, team_id: int) -> tuple[TeamRecord, list[MemberRecord]]:
        return self.store.get(team_id), self.store.members(team_id)

    def set_members(
        self,
        team_id: int,
        person_ids: Iterable[int],
        lead_ids: Iterable[int] = (),
        now: datetime | None = None,
    ) -> list[MemberRecord]:
        """Replace the membership; ``lead_ids`` are members too (leads), whether or not also
        in ``person_ids``. An unknown person is a 422 naming them, and changes nothing."""
        roles = dict.fromkeys(person_ids, "member")
        roles.update(dict.fromkeys(lead_ids, "lead"))
        return self.store.set_members(team_id, roles, now=now or utcnow())

    def leads_of(self, team_ids: Iterable[int]) -> dict[int, list[MemberRecord]]:
        """Team id -> its leads (teams without one are absent), for many teams at once."""
        return self.store.leads_of(list(team_ids))

    def delete(self, team_id: int) -> None:
        self.store.delete(team_id)

    def teams_of(self, person_id: int) -> list[MyTeam]:
        return self.store.teams_of(person_id)

    # ---- shares (anyone, into their own teams) -------------------------------------------

    def share(
        self,
        person: PersonRecord,
        *,
        item_id: int,
        team_id: int,
        note: str | None,
        now: datetime | None = None,
    ) -> ShareRecord:
        """Share ``item_id`` with one of the person's teams, within the guard."""
        now = now or utcnow()
        note = clean_share_note(note)
        self.store.get(team_id)  # 404 for a team that does not exist
        if not any(t.id == team_id for t in self.store.teams_of(person.id)):
            raise Forbidden(f"you are not in team {team_id}", resource_id=team_id)
        self.check_budget(person.id, now)  # a clear answer before anything is written
        return self.store.add_share(
            item_id=item_id,
            team_id=team_id,
            person_id=person.id,
            note=note,
            now=now,
            since=now - BUDGET_WINDOW,
            check=lambda times: self._within_budget(times, now),  # again, under the lock
        )

    def check_budget(self, person_id: int, now: datetime) -> None:
        """429 (:class:`ShareBudgetSpent`) when one more share would exceed the budget."""
        self._within_budget(self.store.share_times(person_id, since=now - BUDGET_WINDOW), now)

    def _within_budget(self, times: list[datetime], now: datetime) -> None:
        frees_at = budget_frees_at(times, budget=self.weekly_budget, now=now)
        if frees_at is not None:
            raise ShareBudgetSpent(
                budget_detail(self.weekly_budget, frees_at), frees_at=frees_at, now=now
            )

    def budget_left(self, person_id: int, now: datetime | None = None) -> int:
        now = now or utcnow()
        used = len(self.store.share_times(person_id, since=now - BUDGET_WINDOW))
        return max(0, self.weekly_budget - used)

    def my_shares(self, person_id: int) -> list[ShareRecord]:
        return self.store.shares_by(person_id)

    def withdraw(self, person: PersonRecord, share_id: int) -> None:
        """Delete one's own share before a teammate's digest carried it (409 after).
        Another person's share is a 404: people see only their own shares."""
        try:
            share = self.store.get_share(share_id)
        except NotFound:
            raise NotFound(f"share {share_id} does not exist", resource_id=share_id) from None
        if share.person_id != person.id:
            raise NotFound(f"share {share_id} does not exist", resource_id=share_id)
        if self.store.delivered(share):
            raise Conflict(
                "this share is already in a teammate's digest: it can no longer be withdrawn",
                resource_id=share_id,
            )
        self.store.delete_share(share_id)
