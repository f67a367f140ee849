"""Building and recording digests: the one domain function behind the API and the e-mail.

``DigestService.today(person, now)`` returns the person's digest for their local date, building
and recording it on first request and returning the recorded content after. Recording is
atomic and keyed by (person, date) and (person, item) (:mod:`curation.storage.digests`), so a
digest is built once and an item is never delivered twice, even when two processes race.
``recommendations`` is the same ranking, live, recording nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from curation.clock import utcnow
from curation.digest.rules import (
    SECTION_TITLES,
    TEAM,
    GemOffer,
    Pick,
    TeamOffer,
    pick,
    window_start,
)
from curation.digest.timing import digest_due, digest_time, local_day
from curation.digest.view import (
    DigestView,
    EntryView,
    GemView,
    ItemTexts,
    ItemView,
    SectionView,
)
from curation.errors import NotFound
from curation.ingest.clean import clean_text
from curation.people.records import PersonRecord
from curation.rank.recommender import RankRequest, Recommender
from curation.rank.types import Candidate
from curation.records import ItemRecord
from curation.settings import Settings
from curation.storage.digests import DigestRow, DigestRows, NewDigest, PickRow
from curation.storage.gems import GemStore
from curation.storage.items import ItemQueries
from curation.storage.people import PeopleStore
from curation.storage.teams import ShareOffer, TeamStore
from curation.teams.rules import FORMER_MEMBER

EXCERPT_CHARS = 280
_LIVE_VIEWS_KEPT = 10_000  # people whose live list's items a process keeps


NO_MODEL = (
    "nothing is ranked yet: the ranking model is fitted after the first ingest that stores items"
    " (curation ingest, POST /v1/ingest, or the scheduler of curation run)"
)
NO_INTERESTS = "no interests declared: add some (PUT /v1/me/interests) to get ranked items"


@dataclass(frozen=True, slots=True)
class Recommendation:
    item: ItemView
    score: float
    why: str


@dataclass(frozen=True, slots=True)
class Recommendations:
    items: list[Recommendation]
    note: str | None = None  # why the list is empty, when it is not just a quiet day
    #: what the list was ranked at (:meth:`Recommender.live_version`); None: nothing ranked
    version: tuple | None = None


#: the fields an ItemView takes from its ItemRecord as they are (all but the excerpt)
_FROM_RECORD = tuple(f.name for f in fields(ItemView) if f.name != "excerpt")


def item_view(record: ItemRecord) -> ItemView:
    """An item as a digest shows it: the stored record with a short plain-text excerpt."""
    excerpt = clean_text(record.text, max_chars=EXCERPT_CHARS)
    return ItemView(**{name: getattr(record, name) for name in _FROM_RECORD}, excerpt=excerpt)


class DigestService:
    def __init__(
        self,
        settings: Settings,
        *,
        rows: DigestRows,
        people: PeopleStore,
        items: ItemQueries,
        gems: GemStore,
        recommender: Recommender,
        teams: TeamStore | None = None,
    ) -> None:
        self.settings = settings
        self.teams = teams
        self.rows = rows
        self.people = people
        self.items = items
        self.gems = gems
        self.recommender = recommender
        self._lock = threading.Lock()
        self._views: OrderedDict[int, tuple[list[Candidate], dict[int, ItemView]]] = OrderedDict()

    # ---- reading ---------------------------------------------------------------------------

    def for_date(self, person_id: int, day: str) -> DigestView:
        row = self.rows.get(person_id, day)
        if row is None or row.payload is None:
            raise NotFound(f"no digest for {day}", resource_id=day)
        return DigestView.from_json(row.payload)

    def history(
        self, person_id: int, *, before: str | None = None, limit: int = 30
    ) -> list[DigestRow]:
        """The person's past digests, newest first (day, window and item count)."""
        return self.rows.days(person_id, before=before, limit=limit)

    # ---- live ranking ----------------------------------------------------------------------

    def recommendations(
        self, person: PersonRecord, *, now: datetime, since: datetime | None = None, limit: int = 10
    ) -> Recommendations:
        """Ranked items first seen after ``since`` (default: the last ``digest_window_hours``,
        whether or not a digest carried them). Records nothing."""
        if since is None:
            since = now - self._first_window
        ranked, version = self.recommender.rank(person, since=since, until=now, limit=limit)
        views = self._live_views(person.id, ranked)
        found = [
            Recommendation(views[c.item_id], c.score, c.why) for c in ranked if c.item_id in views
        ]
        return Recommendations(found, self._note(person), version)

    def _live_views(self, person_id: int, ranked: list[Candidate]) -> dict[int, ItemView]:
        """The items of a live list; when the recommender reused the person's list (see
        :meth:`Recommender.rank`), the items read for it then (as stale as the list)."""
        with self._lock:
            found = self._views.get(person_id)
        if found is not None and found[0] is ranked:
            return found[1]
        views = self.item_views([c.item_id for c in ranked])
        with self._lock:
            self._views[person_id] = (ranked, views)
            self._views.move_to_end(person_id)
            while len(self._views) > _LIVE_VIEWS_KEPT:
                self._views.popitem(last=False)
        return views

    def _note(self, person: PersonRecord) -> str | None:
        """Why a list would be empty for a reason other than a quiet day, or None."""
        if not person.interests:
            return NO_INTERESTS
        if not self.recommender.ready():
            return NO_MODEL
        return None

    # ---- digests ---------------------------------------------------------------------------

    @property
    def _first_window(self) -> timedelta:
        return timedelta(hours=self.settings.digest_window_hours)

    def today(self, person: PersonRecord, now: datetime | None = None) -> DigestView:
        """Today's digest in the person's time zone.

        From the person's digest hour on, the day's digest is built and recorded (by the
        scheduler, or by this call when it comes first) and returned unchanged after, except
        that an empty day is filled as soon as something new arrives. Before the hour, a live
        preview that records nothing (``status="preview"``, ``ready_at`` = the hour).
        """
        now = now or utcnow()
        day = local_day(now, person.timezone)
        row = self.rows.get(person.id, day)
        if row is not None and row.payload is not None:
            if row.item_count == 0 and self.rows.has_news(row):
                return self.refill(person, row, now)
            return DigestView.from_json(row.payload)
        if digest_due(now, person.timezone, person.digest_hour, None) is None:
            return self.preview(person, day, now)
        return self.build(person, day, now)

    def build_due(
        self,
        now: datetime | None = None,
        *,
        person_ids: Sequence[int] | None = None,
        on_chunk: Callable[[list[DigestView]], None] | None = None,
    ) -> list[DigestView]:
        """Build every digest due now (each person's local digest hour has come), and fill the
        day's empty ones that new items would now fill.

        ``person_ids`` limits this to those people (default: everyone). People are taken in
        chunks of ``digest_chunk_people``: per chunk, one read of their last digests, delivered
        items and feedback, one ranking call and one transaction that records the chunk's new
        digests; ``on_chunk`` gets each chunk's digests once they are recorded (e.g. to start
        sending them while the next chunk is built)."""
        now = now or utcnow()
        built: list[DigestView] = []
        for people in self._chunks(person_ids):
            views = self._build_chunk(people, now)
            if views:
                built.extend(views)
                if on_chunk is not None:
                    on_chunk(views)
        return built

    def _chunks(self, person_ids: Sequence[int] | None) -> Iterator[list[PersonRecord]]:
        size = self.settings.digest_chunk_people
        if person_ids is not None:
            ids = sorted(set(person_ids))
            for start in range(0, len(ids), size):
                people = self.people.many(ids[start : start + size])
                if people:
                    yield people
            return
        after = 0
        while people := self.people.list(after_id=after, limit=size):
            yield people
            after = people[-1].id

    def _build_chunk(self, people: Sequence[PersonRecord], now: datetime) -> list[DigestView]:
        """The digests due now among ``people``: new days recorded in one transaction, empty
        days filled one by one (rare)."""
        lasts = self.rows.last_many([p.id for p in people])
        newest: int | None = None
        builds: list[tuple[PersonRecord, str, datetime]] = []
        refills: list[tuple[PersonRecord, DigestRow]] = []
        for person in people:
            day = digest_due(now, person.timezone, person.digest_hour, None)
            if day is None:
                continue
            last = lasts.get(person.id)
            if last is None or last.day != day:
                start = window_start(last.window_end if last else None, now, self._first_window)
                builds.append((person, day, start))
            elif last.item_count == 0:
                if newest is None:
                    newest = self.rows.newest_item_id()
                if self._has_news(last, newest):
                    refills.append((person, last))
        if not builds and not refills:
            return []
        shown = self._shown_many(
            [(person, start) for person, _, start in builds]
            + [(person, row.window_start) for person, row in refills],
            now,
        )
        built = self._record_many(builds, shown, now)
        for person, row in refills:
            built.append(self._refill_shown(person, row, now, *shown[person.id]))
        return built

    def _has_news(self, row: DigestRow, newest_item_id: int) -> bool:
        if row.seen_item_id is not None:
            return newest_item_id > row.seen_item_id
        return self.rows.has_news(row)  # recorded before migration 0008

    def _record_many(
        self,
        builds: Sequence[tuple[PersonRecord, str, datetime]],
        shown: dict[int, tuple[list[Pick], dict[int, ItemView]]],
        now: datetime,
    ) -> list[DigestView]:
        """Record the new days in one transaction; where another process was first, its
        recorded digest."""
        if not builds:
            return []
        people = {person.id: person for person, _, _ in builds}
        made: dict[int, DigestView] = {}
        texts: ItemTexts = {}  # each item encoded once for the chunk

        def payload(digest: NewDigest, digest_id: int) -> str:
            picks, views = shown[digest.person_id]
            person = people[digest.person_id]
            made[digest.person_id] = self._view(digest_id, person, digest.day, now, picks, views)
            return made[digest.person_id].to_json(texts)

        digests = [
            NewDigest(
                person.id,
                day,
                start,
                [PickRow(p.item_id, p.section, p.score) for p in shown[person.id][0]],
            )
            for person, day, start in builds
        ]
        stored = self.rows.record_many(digests, now=now, payload=payload)
        lost = [(d.person_id, d.day) for d in digests if d.person_id not in stored]
        if lost:
            for person_id, row in self.rows.get_many(lost).items():
                made[person_id] = DigestView.from_json(row.payload or "{}")
        return [made[d.person_id] for d in digests if d.person_id in made]

    def build(self, person: PersonRecord, day: str, now: datetime) -> DigestView:
        """Rank, pick and record the digest for ``day`` (or return the one already recorded)."""
        start = self._window_start(person, now)
        built = self._record_many(
            [(person, day, start)], self._shown_many([(person, start)], now), now
        )
        if not built:
            raise NotFound(f"no digest for {day}", resource_id=day)
        return built[0]

    def preview(self, person: PersonRecord, day: str, now: datetime) -> DigestView:
        """What the day's digest would hold now, recorded nowhere."""
        picks, views = self._shown(person, self._window_start(person, now), now)
        ready_at = digest_time(now, person.timezone, person.digest_hour)
        return self._view(0, person, day, now, picks, views, status="preview", ready_at=ready_at)

    def refill(self, person: PersonRecord, row: DigestRow, now: datetime) -> DigestView:
        """Fill the day's empty digest with what arrived since (or return it as it is)."""
        return self._refill_shown(person, row, now, *self._shown(person, row.window_start, now))

    def _refill_shown(
        self,
        person: PersonRecord,
        row: DigestRow,
        now: datetime,
        picks: list[Pick],
        views: dict[int, ItemView],
    ) -> DigestView:
        return self._store(
            person,
            row.day,
            now,
            picks,
            views,
            lambda rows, payload: self.rows.refill(
                row, person_id=person.id, now=now, picks=rows, payload=payload
            ),
        )

    def _window_start(self, person: PersonRecord, now: datetime) -> datetime:
        last = self.rows.last(person.id)
        return window_start(last.window_end if last else None, now, self._first_window)

    def _shown(
        self, person: PersonRecord, start: datetime, now: datetime
    ) -> tuple[list[Pick], dict[int, ItemView]]:
        """The picks of the window whose items can still be shown, and those items."""
        return self._shown_many([(person, start)], now)[person.id]

    def _shown_many(
        self, windows: Sequence[tuple[PersonRecord, datetime]], now: datetime
    ) -> dict[int, tuple[list[Pick], dict[int, ItemView]]]:
        """Per person: the picks of their window ``(start, now]`` whose items can still be
        shown, and the items (one dict shared by everyone). Set-based: one read each of the
        delivered items, the gems and the item texts, and one ranking call per group of
        people sharing a window (:meth:`Recommender.rank_many`)."""
        earliest = min(start for _, start in windows)
        offers = self._gem_offers(since=earliest)
        ids = [person.id for person, _ in windows]
        memberships: dict[int, set[int]] = {}
        shares: dict[int, list[ShareOffer]] = {}
        if self.teams is not None:  # one read each of the chunk's teams and their shares
            memberships = self.teams.team_ids_of(ids)
            if memberships:
                shares = self.teams.offers_for(list(memberships), since=earliest)
        delivered = self.rows.delivered_among(
            ids,
            first_seen_after=earliest,
            until=now,
            also=[offer.item_id for _, offer in offers]
            + sorted({s.item_id for found in shares.values() for s in found}),
        )
        ranked = self.recommender.rank_many(
            [
                RankRequest(person, start, frozenset(delivered.get(person.id, ())))
                for person, start in windows
            ],
            until=now,
            limit=self.settings.digest_max_items * 3,
        )
        team_offers = self._team_offers(windows, shares, delivered, now)
        picks = {
            person.id: pick(
                ranked[person.id],
                [offer for at, offer in offers if at >= start],
                interests=[phrase for phrase, _ in person.interests],
                delivered=delivered.get(person.id, set()),
                limit=self.settings.digest_max_items,
                teams=memberships.get(person.id, set()),
                shares=team_offers.get(person.id, ()),
                max_team_fraction=self.settings.team_share_max_fraction,
            )
            for person, start in windows
        }
        views = self.item_views(sorted({p.item_id for chosen in picks.values() for p in chosen}))
        return {
            person_id: ([p for p in chosen if p.item_id in views], views)
            for person_id, chosen in picks.items()
        }

    def _team_offers(
        self,
        windows: Sequence[tuple[PersonRecord, datetime]],
        shares: dict[int, list[ShareOffer]],
        delivered: dict[int, set[int]],
        now: datetime,
    ) -> dict[int, list[TeamOffer]]:
        """Per person: the shares made in their window, not delivered to them before, each
        with the person's own score of the item (one scoring call for the chunk); muted or
        judged items are left out."""
        if not shares:
            return {}
        fresh: dict[int, tuple[PersonRecord, list[ShareOffer]]] = {}
        for person, start in windows:
            seen = delivered.get(person.id, set())
            found = [
                s
                for s in shares.get(person.id, ())
                if s.created_at > start and s.item_id not in seen
            ]
            if found:
                fresh[person.id] = (person, found)
        scores = self.recommender.score_items(
            [(person, [s.item_id for s in found]) for person, found in fresh.values()], until=now
        )
        out: dict[int, list[TeamOffer]] = {}
        for person_id, (_, found) in fresh.items():
            mine = scores.get(person_id, {})
            for s in found:
                scored = mine.get(s.item_id, (0.0, ""))
                if scored is None:  # muted, or already judged by the person
                    continue
                out.setdefault(person_id, []).append(
                    TeamOffer(
                        s.share_id,
                        s.item_id,
                        s.team_name,
                        s.shared_by,
                        s.note,
                        scored[0],
                        scored[1] or None,
                    )
                )
        return out

    def _store(
        self,
        person: PersonRecord,
        day: str,
        now: datetime,
        picks: Sequence[Pick],
        views: dict[int, ItemView],
        write: Callable[[list[PickRow], Callable[[int], str]], str | None],
    ) -> DigestView:
        """Record through ``write`` (filling an empty day); when it records nothing (another
        process was first, or nothing to add), the stored digest."""
        built: list[DigestView] = []

        def payload(digest_id: int) -> str:
            built.append(self._view(digest_id, person, day, now, picks, views))
            return built[-1].to_json()

        stored = write([PickRow(p.item_id, p.section, p.score) for p in picks], payload)
        return built[-1] if stored is not None else self.for_date(person.id, day)

    def _view(
        self,
        digest_id: int,
        person: PersonRecord,
        day: str,
        now: datetime,
        picks: Sequence[Pick],
        views: dict[int, ItemView],
        *,
        status: str = "recorded",
        ready_at: datetime | None = None,
    ) -> DigestView:
        sections = []
        for key, title in SECTION_TITLES.items():
            entries = tuple(
                EntryView(
                    item=views[p.item_id],
                    score=round(p.score, 4),
                    why=p.why,
                    gem=GemView(p.gem_id, p.note or "", p.curator) if p.gem_id else None,
                    shared_by=(p.shared_by or FORMER_MEMBER) if p.share_id else None,
                    note=p.note if p.share_id else None,
                    share_id=p.share_id,
                )
                for p in picks
                if p.section == key
            )
            if entries or key != TEAM:  # "From your team" only when it holds something
                sections.append(SectionView(key=key, title=title, items=entries))
        return DigestView(
            id=digest_id,
            person_id=person.id,
            date=day,
            created_at=now,
            sections=tuple(sections),
            status=status,
            ready_at=ready_at,
            note=None if picks else self._note(person),
        )

    def _gem_offers(self, *, since: datetime) -> list[tuple[datetime, GemOffer]]:
        """Gems tagged since ``since`` (the earliest window start), oldest first, each with
        when it was tagged (a person sees those tagged since their own window's start)."""
        return [
            (
                g.created_at,
                GemOffer(g.id, g.item_id, g.note, g.audience, g.curator_name, g.teams),
            )
            for g in self.gems.recent_gems(since)
        ]

    # ---- item views ------------------------------------------------------------------------

    def item_views(self, item_ids: Sequence[int]) -> dict[int, ItemView]:
        records = self.items.records(item_ids, with_text=True)
        return {item_id: item_view(record) for item_id, record in records.items()}
