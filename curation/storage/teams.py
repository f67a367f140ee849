"""SQL for teams and shares (tables ``team``, ``team_member``, ``share``, ``gem_team``).

Callers get frozen records. Membership is replaced as a whole (:meth:`TeamStore.set_members`);
a share is one per (item, team) by the table's unique constraint (a second is a
:class:`~curation.errors.Conflict`). Digests read the shares offered to a chunk of people in
one query (:meth:`TeamStore.offers_for`). :func:`forget_sharer` runs inside a person's
deletion: their shares stay for teammates without note nor sharer, and the digests that
already carried them read "a former member" without the note.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from curation.errors import Conflict, InvalidInput, NotFound
from curation.records import Choice
from curation.storage.tables import (
    Digest,
    DigestItem,
    GemTeam,
    Item,
    Person,
    Share,
    Team,
    TeamMember,
)
from curation.teams.rules import FORMER_MEMBER

T = Team.__table__
M = TeamMember.__table__
S = Share.__table__
GT = GemTeam.__table__
I = Item.__table__  # noqa: E741
P = Person.__table__
D = Digest.__table__
DI = DigestItem.__table__
TEAM_SECTION = "team"  # digest_item.section of team shares (see curation.digest.rules.TEAM)
_BATCH = 1000  # ids per IN (...) list


@dataclass(frozen=True, slots=True)
class TeamRecord:
    id: int
    name: str
    created_at: datetime
    member_count: int = 0


@dataclass(frozen=True, slots=True)
class MemberRecord:
    person_id: int
    name: str
    email: str
    role: str  # member | lead


@dataclass(frozen=True, slots=True)
class MyTeam:
    """One of a person's teams, with their role in it."""

    id: int
    name: str
    role: str
    member_count: int


@dataclass(frozen=True, slots=True)
class ShareRecord:
    id: int
    item_id: int
    item_title: str
    team_id: int
    team_name: str
    person_id: int | None  # None once the sharer is deleted
    note: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShareOffer:
    """A share a person may find in their digest: shared with one of their teams, not by them."""

    share_id: int
    item_id: int
    team_name: str
    shared_by: str | None  # the sharer's name; None once deleted ("a former member")
    note: str | None
    created_at: datetime


_SHARES = (
    select(
        S.c.id,
        S.c.item_id,
        I.c.title.label("item_title"),
        S.c.team_id,
        T.c.name.label("team_name"),
        S.c.person_id,
        S.c.note,
        S.c.created_at,
    )
    .join(I, I.c.id == S.c.item_id)
    .join(T, T.c.id == S.c.team_id)
)
_COUNTS = select(M.c.team_id, func.count().label("n")).group_by(M.c.team_id).subquery()
#: every team's id and name, in :meth:`TeamStore.list`'s order (built once: two pages read it
#: at every view)
_CHOICES = select(T.c.id, T.c.name).order_by(T.c.name, T.c.id)


def _batches(values: Sequence[int], size: int = _BATCH) -> list[Sequence[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


class TeamStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- teams and members ---------------------------------------------------------------

    def create(self, name: str, *, now: datetime) -> TeamRecord:
        with self.engine.begin() as conn:
            try:
                team_id = conn.execute(
                    T.insert().values(name=name, created_at=now).returning(T.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise Conflict(f"a team named “{name}” exists", resource_id=name) from exc
        return TeamRecord(team_id, name, now, 0)

    def list(self) -> list[TeamRecord]:
        query = (
            select(T.c.id, T.c.name, T.c.created_at, func.coalesce(_COUNTS.c.n, 0))
            .outerjoin(_COUNTS, _COUNTS.c.team_id == T.c.id)
            .order_by(T.c.name, T.c.id)
        )
        with self.engine.connect() as conn:
            return [TeamRecord(*row) for row in conn.execute(query)]

    def choices(self) -> list[Choice]:
        """Every team's id and name, ordered as :meth:`list` (the pages' team checkboxes)."""
        with self.engine.connect() as conn:
            return [Choice(*row) for row in conn.execute(_CHOICES)]

    def get(self, team_id: int) -> TeamRecord:
        with self.engine.connect() as conn:
            return self._get(conn, team_id)

    def _get(self, conn: Connection, team_id: int) -> TeamRecord:
        row = conn.execute(
            select(T.c.id, T.c.name, T.c.created_at).where(T.c.id == team_id)
        ).first()
        if row is None:
            raise NotFound(f"team {team_id} does not exist", resource_id=team_id)
        count = conn.execute(select(func.count()).where(M.c.team_id == team_id)).scalar_one()
        return TeamRecord(row.id, row.name, row.created_at, count)

    def members(self, team_id: int) -> list[MemberRecord]:
        query = (
            select(M.c.person_id, P.c.name, P.c.email, M.c.role)
            .join(P, P.c.id == M.c.person_id)
            .where(M.c.team_id == team_id)
            .order_by(P.c.name, P.c.id)
        )
        with self.engine.connect() as conn:
            self._get(conn, team_id)
            return [MemberRecord(*row) for row in conn.execute(query)]

    def leads_of(self, team_ids: Sequence[int]) -> dict[int, list[MemberRecord]]:
        """Team id -> its leads, by name (teams without a lead are absent); one query per
        batch of teams (the workspace's list of teams shows every team's leads)."""
        out: dict[int, list[MemberRecord]] = {}
        with self.engine.connect() as conn:
            for batch in _batches(sorted(set(team_ids))):
                query = (
                    select(M.c.team_id, M.c.person_id, P.c.name, P.c.email, M.c.role)
                    .join(P, P.c.id == M.c.person_id)
                    .where(M.c.team_id.in_(batch), M.c.role == "lead")
                    .order_by(P.c.name, P.c.id)
                )
                for team_id, *lead in conn.execute(query):
                    out.setdefault(team_id, []).append(MemberRecord(*lead))
        return out

    def set_members(
        self, team_id: int, roles: dict[int, str], *, now: datetime
    ) -> list[MemberRecord]:
        """Make ``roles`` (person id -> member | lead) the team's whole membership."""
        with self.engine.begin() as conn:
            self._get(conn, team_id)
            wanted = sorted(roles)
            known: set[int] = set()
            for batch in _batches(wanted):
                known.update(conn.execute(select(P.c.id).where(P.c.id.in_(batch))).scalars())
            unknown = [pid for pid in wanted if pid not in known]
            if unknown:
                raise InvalidInput(
                    f"no such person: {', '.join(map(str, unknown))}", resource_id=unknown[0]
                )
            current = dict(
                conn.execute(select(M.c.person_id, M.c.role).where(M.c.team_id == team_id)).all()
            )
            gone = [pid for pid in current if pid not in roles]
            for batch in _batches(gone):
                conn.execute(delete(M).where(M.c.team_id == team_id, M.c.person_id.in_(batch)))
            for pid, role in roles.items():
                if pid in current and current[pid] != role:
                    conn.execute(
                        update(M)
                        .where(M.c.team_id == team_id, M.c.person_id == pid)
                        .values(role=role)
                    )
            new = [
                {"team_id": team_id, "person_id": pid, "role": role, "added_at": now}
                for pid, role in roles.items()
                if pid not in current
            ]
            if new:
                conn.execute(M.insert(), new)
        return self.members(team_id)

    def delete(self, team_id: int) -> None:
        with self.engine.begin() as conn:
            if conn.execute(delete(T).where(T.c.id == team_id)).rowcount == 0:
                raise NotFound(f"team {team_id} does not exist", resource_id=team_id)

    def teams_of(self, person_id: int) -> list[MyTeam]:
        query = (
            select(T.c.id, T.c.name, M.c.role, func.coalesce(_COUNTS.c.n, 0))
            .join(M, M.c.team_id == T.c.id)
            .outerjoin(_COUNTS, _COUNTS.c.team_id == T.c.id)
            .where(M.c.person_id == person_id)
            .order_by(T.c.name, T.c.id)
        )
        with self.engine.connect() as conn:
            return [MyTeam(*row) for row in conn.execute(query)]

    def team_ids_of(self, person_ids: Sequence[int]) -> dict[int, set[int]]:
        """Person id -> the ids of their teams (people in no team are absent)."""
        out: dict[int, set[int]] = {}
        with self.engine.connect() as conn:
            for batch in _batches(sorted(set(person_ids))):
                query = select(M.c.person_id, M.c.team_id).where(M.c.person_id.in_(batch))
                for person_id, team_id in conn.execute(query):
                    out.setdefault(person_id, set()).add(team_id)
        return out

    def team_names(self, team_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(team_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            return dict(conn.execute(select(T.c.id, T.c.name).where(T.c.id.in_(ids))).all())

    # ---- shares ----------------------------------------------------------------------------

    def share_times(self, person_id: int, *, since: datetime) -> list[datetime]:
        query = select(S.c.created_at).where(S.c.person_id == person_id, S.c.created_at > since)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def add_share(
        self,
        *,
        item_id: int,
        team_id: int,
        person_id: int,
        note: str | None,
        now: datetime,
        since: datetime | None = None,
        check: Callable[[list[datetime]], None] | None = None,
    ) -> ShareRecord:
        """Record a share. With ``check``, it is given the person's share times after
        ``since`` inside the same transaction, after a write to the person's row: two shares
        of one person at the same moment are taken one after the other (a row lock on
        PostgreSQL, the write lock on SQLite), so the budget cannot be overrun by a race."""
        with self.engine.begin() as conn:
            if check is not None:
                conn.execute(update(P).where(P.c.id == person_id).values(id=P.c.id))
                times = conn.execute(
                    select(S.c.created_at).where(S.c.person_id == person_id, S.c.created_at > since)
                ).scalars()
                check(list(times))
            if conn.execute(select(I.c.id).where(I.c.id == item_id)).first() is None:
                raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
            try:
                share_id = conn.execute(
                    S.insert()
                    .values(
                        item_id=item_id,
                        team_id=team_id,
                        person_id=person_id,
                        note=note,
                        created_at=now,
                    )
                    .returning(S.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise Conflict(
                    f"item {item_id} was already shared with this team (one share per team)",
                    resource_id=item_id,
                ) from exc
        return self.get_share(share_id)

    def get_share(self, share_id: int) -> ShareRecord:
        with self.engine.connect() as conn:
            row = conn.execute(_SHARES.where(S.c.id == share_id)).first()
        if row is None:
            raise NotFound(f"share {share_id} does not exist", resource_id=share_id)
        return ShareRecord(*row)

    def shares_by(self, person_id: int, *, limit: int = 200) -> list[ShareRecord]:
        """The person's shares, newest first."""
        query = _SHARES.where(S.c.person_id == person_id).order_by(S.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [ShareRecord(*row) for row in conn.execute(query)]

    def delivered(self, share: ShareRecord) -> bool:
        """Whether a digest of one of the team's members already carried the share."""
        query = (
            select(DI.c.id)
            .join(M, and_(M.c.person_id == DI.c.person_id, M.c.team_id == share.team_id))
            .join(D, D.c.id == DI.c.digest_id)
            .where(
                DI.c.item_id == share.item_id,
                DI.c.section == TEAM_SECTION,
                D.c.created_at >= share.created_at,
            )
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def delete_share(self, share_id: int) -> None:
        with self.engine.begin() as conn:
            if conn.execute(delete(S).where(S.c.id == share_id)).rowcount == 0:
                raise NotFound(f"share {share_id} does not exist", resource_id=share_id)

    def offers_for(
        self, person_ids: Sequence[int], *, since: datetime
    ) -> dict[int, list[ShareOffer]]:
        """Per person: shares made after ``since`` with one of their teams by someone else,
        oldest first, one per item (the first share of an item wins). One query per batch of
        people (digests read this once per chunk)."""
        query_base = (
            select(
                M.c.person_id.label("reader"),
                S.c.id,
                S.c.item_id,
                T.c.name,
                P.c.name.label("sharer"),
                S.c.note,
                S.c.created_at,
            )
            .join(M, M.c.team_id == S.c.team_id)
            .join(T, T.c.id == S.c.team_id)
            .outerjoin(P, P.c.id == S.c.person_id)
            .where(
                S.c.created_at > since,
                (S.c.person_id.is_(None)) | (S.c.person_id != M.c.person_id),
            )
            .order_by(S.c.created_at, S.c.id)
        )
        out: dict[int, list[ShareOffer]] = {}
        with self.engine.connect() as conn:
            for batch in _batches(sorted(set(person_ids))):
                for row in conn.execute(query_base.where(M.c.person_id.in_(batch))):
                    offers = out.setdefault(row.reader, [])
                    if any(o.item_id == row.item_id for o in offers):
                        continue
                    offers.append(
                        ShareOffer(
                            row.id, row.item_id, row.name, row.sharer, row.note, row.created_at
                        )
                    )
        return out


def forget_sharer(conn: Connection, person_id: int) -> None:
    """Inside the deletion of ``person_id`` (before the row goes): their shares lose their
    note (the sharer goes by the foreign key's SET NULL), and every recorded digest that
    carried one of them says "a former member", without the note."""
    share_ids = list(conn.execute(select(S.c.id).where(S.c.person_id == person_id)).scalars())
    if not share_ids:
        return
    conn.execute(update(S).where(S.c.person_id == person_id).values(note=None))
    wanted = set(share_ids)
    items = list(
        conn.execute(select(S.c.item_id).where(S.c.id.in_(share_ids)).distinct()).scalars()
    )
    digest_ids: set[int] = set()
    for batch in _batches(items):
        query = select(DI.c.digest_id).where(DI.c.item_id.in_(batch), DI.c.section == TEAM_SECTION)
        digest_ids.update(conn.execute(query).scalars())
    for batch in _batches(sorted(digest_ids)):
        for digest_id, payload in conn.execute(
            select(D.c.id, D.c.payload).where(D.c.id.in_(batch))
        ):
            changed = _forget_in_payload(payload, wanted)
            if changed is not None:
                conn.execute(update(D).where(D.c.id == digest_id).values(payload=changed))


def _forget_in_payload(payload: str, share_ids: set[int]) -> str | None:
    """The payload with those shares' sharer and note gone, or None when none is in it."""
    data = json.loads(payload)
    changed = False
    for section in data.get("sections", ()):
        for entry in section.get("items", ()):
            if entry.get("share_id") in share_ids:
                who = entry.get("shared_by")
                entry["shared_by"] = FORMER_MEMBER
                entry["note"] = None
                if who and isinstance(entry.get("why"), str):
                    entry["why"] = entry["why"].replace(
                        f"Shared by {who} ", f"Shared by {FORMER_MEMBER} ", 1
                    )
                changed = True
    return json.dumps(data, ensure_ascii=False) if changed else None
