"""Building and recording digests: the one domain function behind the API and the e-mail.

``DigestService.today(person, now)`` returns the person's digest for their local date, building
and recording it on first request and returning the recorded content after. Recording is
atomic and keyed by (person, date) and (person, item) (:mod:`curation.storage.digests`), so a
digest is built once and an item is never delivered twice, even when two processes race.
``recommendations`` is the same ranking, live, recording nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from curation.clock import utcnow
from curation.digest.rules import SECTION_TITLES, GemOffer, Pick, pick, window_start
from curation.digest.timing import digest_due, digest_time, local_day
from curation.digest.view import DigestView, EntryView, GemView, ItemView, SectionView
from curation.errors import NotFound
from curation.ingest.clean import clean_text
from curation.people.records import PersonRecord
from curation.rank.recommender import Recommender
from curation.records import ItemRecord
from curation.settings import Settings
from curation.storage.digests import DigestRow, DigestRows, PickRow
from curation.storage.gems import GemStore
from curation.storage.items import ItemQueries
from curation.storage.people import PeopleStore

EXCERPT_CHARS = 280


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
    ) -> None:
        self.settings = settings
        self.rows = rows
        self.people = people
        self.items = items
        self.gems = gems
        self.recommender = recommender

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
        ranked = self.recommender.rank(person, since=since, until=now, limit=limit)
        views = self.item_views([c.item_id for c in ranked])
        found = [
            Recommendation(views[c.item_id], c.score, c.why) for c in ranked if c.item_id in views
        ]
        return Recommendations(found, self._note(person))

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

    def build_due(self, now: datetime | None = None) -> list[DigestView]:
        """Build every digest due now (each person's local digest hour has come), and fill the
        day's empty ones that new items would now fill."""
        now = now or utcnow()
        built = []
        for person in self.people.all():
            last = self.rows.last(person.id)
            day = digest_due(now, person.timezone, person.digest_hour, None)
            if day is None:
                continue
            if last is None or last.day != day:
                built.append(self.build(person, day, now))
            elif last.item_count == 0 and self.rows.has_news(last):
                built.append(self.refill(person, last, now))
        return built

    def build(self, person: PersonRecord, day: str, now: datetime) -> DigestView:
        """Rank, pick and record the digest for ``day`` (or return the one already recorded)."""
        start = self._window_start(person, now)
        picks, views = self._shown(person, start, now)
        return self._store(
            person,
            day,
            now,
            picks,
            views,
            lambda rows, payload: self.rows.record(
                person_id=person.id,
                day=day,
                window_start=start,
                now=now,
                picks=rows,
                payload=payload,
            ),
        )

    def preview(self, person: PersonRecord, day: str, now: datetime) -> DigestView:
        """What the day's digest would hold now, recorded nowhere."""
        picks, views = self._shown(person, self._window_start(person, now), now)
        ready_at = digest_time(now, person.timezone, person.digest_hour)
        return self._view(0, person, day, now, picks, views, status="preview", ready_at=ready_at)

    def refill(self, person: PersonRecord, row: DigestRow, now: datetime) -> DigestView:
        """Fill the day's empty digest with what arrived since (or return it as it is)."""
        picks, views = self._shown(person, row.window_start, now)
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
        picks = self._picks(person, start, now)
        views = self.item_views([p.item_id for p in picks])
        return [p for p in picks if p.item_id in views], views

    def _store(
        self,
        person: PersonRecord,
        day: str,
        now: datetime,
        picks: Sequence[Pick],
        views: dict[int, ItemView],
        write: Callable[[list[PickRow], Callable[[int], str]], str | None],
    ) -> DigestView:
        """Record through ``write`` (a new day, or filling an empty one); when it records
        nothing (another process was first, or nothing to add), the stored digest."""
        built: list[DigestView] = []

        def payload(digest_id: int) -> str:
            built.append(self._view(digest_id, person, day, now, picks, views))
            return built[-1].to_json()

        stored = write([PickRow(p.item_id, p.section, p.score) for p in picks], payload)
        return built[-1] if stored is not None else self.for_date(person.id, day)

    def _picks(self, person: PersonRecord, start: datetime, now: datetime) -> list[Pick]:
        delivered = self.rows.delivered(person.id)
        ranked = self.recommender.rank(
            person,
            since=start,
            until=now,
            limit=self.settings.digest_max_items * 3,
            exclude=delivered,
        )
        return pick(
            ranked,
            self.gem_offers(since=start),
            interests=[phrase for phrase, _ in person.interests],
            delivered=delivered,
            limit=self.settings.digest_max_items,
        )

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
                )
                for p in picks
                if p.section == key
            )
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

    def gem_offers(self, *, since: datetime) -> list[GemOffer]:
        """Gems tagged since ``since`` (the digest window's start), oldest first."""
        return [
            GemOffer(g.id, g.item_id, g.note, g.audience, g.curator_name)
            for g in self.gems.recent_gems(since)
        ]

    # ---- item views ------------------------------------------------------------------------

    def item_views(self, item_ids: Sequence[int]) -> dict[int, ItemView]:
        records = self.items.records(item_ids, with_text=True)
        return {item_id: item_view(record) for item_id, record in records.items()}
