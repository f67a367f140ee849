"""Building and recording digests: the one domain function behind the API and the e-mail.

``DigestService.today(person, now)`` returns the person's digest for their local date, building
and recording it on first request and returning the recorded content after. Recording is
atomic and keyed by (person, date) and (person, item), so a digest is built once and an item is
never delivered twice, even when two processes race. ``recommendations`` is the same ranking,
live, recording nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from curation.digest.rules import SECTION_TITLES, Pick, pick, window_start
from curation.digest.view import DigestView, EntryView, GemView, ItemView, SectionView, SourceRef
from curation.errors import NotFound
from curation.ingest.clean import clean_text
from curation.ingest.schedule import digest_due, local_day
from curation.people.store import PeopleStore, PersonRecord
from curation.rank.recommender import Recommender
from curation.settings import Settings
from curation.storage.tables import Digest, DigestItem, Item, ItemSource, Source, utcnow

D = Digest.__table__
DI = DigestItem.__table__
I = Item.__table__  # noqa: E741
L = ItemSource.__table__
S = Source.__table__

EXCERPT_CHARS = 280


@dataclass(frozen=True, slots=True)
class Recommendation:
    item: ItemView
    score: float
    why: str


class DigestService:
    def __init__(
        self, engine: Engine, settings: Settings, recommender: Recommender | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.people = PeopleStore(engine)
        self.recommender = recommender or Recommender(engine, settings)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # ---- reading ---------------------------------------------------------------------------

    def for_date(self, person_id: int, day: str) -> DigestView:
        with self.engine.connect() as conn:
            payload = conn.execute(
                select(D.c.payload).where(D.c.person_id == person_id, D.c.day == day)
            ).scalar()
        if payload is None:
            raise NotFound(f"no digest for {day}", resource_id=day)
        return DigestView.from_json(payload)

    def last_digest(self, person_id: int) -> tuple[str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(D.c.day, D.c.window_end)
                .where(D.c.person_id == person_id)
                .order_by(D.c.window_end.desc())
                .limit(1)
            ).first()
        return (row.day, row.window_end) if row else None

    # ---- live ranking ----------------------------------------------------------------------

    def recommendations(
        self, person: PersonRecord, *, now: datetime, since: datetime | None = None, limit: int = 10
    ) -> list[Recommendation]:
        """Ranked items first seen after ``since`` (default: the digest window). Records nothing."""
        if since is None:
            last = self.last_digest(person.id)
            since = window_start(last[1] if last else None, now, self._first_window)
        ranked = self.recommender.rank(person, since=since, until=now, limit=limit)
        views = self.item_views([c.item_id for c in ranked])
        return [
            Recommendation(views[c.item_id], c.score, c.why) for c in ranked if c.item_id in views
        ]

    # ---- digests ---------------------------------------------------------------------------

    @property
    def _first_window(self) -> timedelta:
        return timedelta(hours=self.settings.digest_window_hours)

    def today(self, person: PersonRecord, now: datetime | None = None) -> DigestView:
        """Today's digest in the person's time zone: built and recorded on first request."""
        now = now or utcnow()
        day = local_day(now, person.timezone)
        try:
            return self.for_date(person.id, day)
        except NotFound:
            return self.build(person, day, now)

    def build_due(self, now: datetime | None = None) -> list[DigestView]:
        """Build every digest due now (each person's local digest hour has come)."""
        now = now or utcnow()
        built = []
        for person in self.people.all():
            last = self.last_digest(person.id)
            day = digest_due(now, person.timezone, person.digest_hour, last[0] if last else None)
            if day is not None:
                built.append(self.build(person, day, now))
        return built

    def build(self, person: PersonRecord, day: str, now: datetime) -> DigestView:
        """Rank, pick and record the digest for ``day`` (or return the one already recorded)."""
        last = self.last_digest(person.id)
        start = window_start(last[1] if last else None, now, self._first_window)
        delivered = self._delivered(person.id)
        ranked = self.recommender.rank(
            person,
            since=start,
            until=now,
            limit=self.settings.digest_max_items * 3,
            exclude=delivered,
        )
        gems = self.recommender.gem_offers(since=start)
        picks = pick(
            ranked,
            gems,
            interests=[phrase for phrase, _ in person.interests],
            delivered=delivered,
            limit=self.settings.digest_max_items,
        )
        return self._record(person, day, start, now, picks)

    def _delivered(self, person_id: int) -> set[int]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(select(DI.c.item_id).where(DI.c.person_id == person_id)).scalars()
            )

    def _record(
        self, person: PersonRecord, day: str, start: datetime, now: datetime, picks: Sequence[Pick]
    ) -> DigestView:
        views = self.item_views([p.item_id for p in picks])
        picks = [p for p in picks if p.item_id in views]
        with self.engine.begin() as conn:
            digest_id = conn.execute(
                self._insert(D)
                .values(
                    person_id=person.id,
                    day=day,
                    window_start=start,
                    window_end=now,
                    created_at=now,
                    item_count=len(picks),
                    payload="{}",
                    email_status="pending" if picks else "empty",
                    email_attempts=0,
                )
                .on_conflict_do_nothing(index_elements=["person_id", "day"])
                .returning(D.c.id)
            ).scalar()
            if digest_id is None:  # another process recorded this day first: show theirs
                conn.rollback()
                return self.for_date(person.id, day)
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
            view = DigestView(
                id=digest_id,
                person_id=person.id,
                date=day,
                created_at=now,
                sections=tuple(sections),
            )
            if picks:
                conn.execute(
                    self._insert(DI).on_conflict_do_nothing(),
                    [
                        {
                            "digest_id": digest_id,
                            "person_id": person.id,
                            "item_id": p.item_id,
                            "section": p.section,
                            "position": n,
                            "score": p.score,
                        }
                        for n, p in enumerate(picks)
                    ],
                )
            conn.execute(update(D).where(D.c.id == digest_id).values(payload=view.to_json()))
        return view

    # ---- item views ------------------------------------------------------------------------

    def item_views(self, item_ids: Sequence[int]) -> dict[int, ItemView]:
        if not item_ids:
            return {}
        ids = list(dict.fromkeys(item_ids))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    I.c.id,
                    I.c.title,
                    I.c.url,
                    I.c.summary_html,
                    I.c.text,
                    I.c.published_at,
                    I.c.origin_source_id,
                ).where(I.c.id.in_(ids))
            ).all()
            links = conn.execute(
                select(L.c.item_id, S.c.id, S.c.title)
                .join(S, S.c.id == L.c.source_id)
                .where(L.c.item_id.in_(ids))
                .order_by(L.c.id)
            ).all()
        sources: dict[int, list[SourceRef]] = {}
        for item_id, sid, title in links:
            sources.setdefault(item_id, []).append(SourceRef(sid, title))
        out = {}
        for r in rows:
            refs = sources.get(r.id, [])
            origin = next(
                (s for s in refs if s.id == r.origin_source_id), refs[0] if refs else None
            )
            out[r.id] = ItemView(
                id=r.id,
                title=r.title,
                url=r.url,
                summary=r.summary_html,
                excerpt=clean_text(r.text, max_chars=EXCERPT_CHARS),
                published_at=r.published_at,
                source=origin,
                sources=tuple(refs),
            )
        return out
