"""The ranking core wired to the database: the batch-fitted model, live candidates, people.

:func:`refresh_model` is the batch step (after ingest): it fits the TF-IDF/BM25 model on the
recent window and stores it. :class:`Recommender` loads the newest stored model once per
process, adds items first seen since the fit without refitting (cheaper), and ranks a person's
candidates with the pure core in :mod:`curation.rank`.
"""

from __future__ import annotations

import pickle  # noqa: S403 - only ever loads models this service pickled into its own database
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from curation.digest.rules import Candidate, GemOffer
from curation.people.store import PeopleStore, PersonRecord
from curation.rank import CorpusModel, ItemText, Person, RankConfig, rank_all
from curation.settings import Settings
from curation.storage.gems import GemStore
from curation.storage.tables import Gem, Item, RankModel, utcnow

I = Item.__table__  # noqa: E741
RM = RankModel.__table__
G = Gem.__table__


def rank_config(settings: Settings) -> RankConfig:
    """The ranker's parameters from the environment (the rest keep RankConfig's defaults)."""
    return RankConfig(
        window_days=settings.rank_window_days,
        min_df=settings.rank_min_df,
        max_df=settings.rank_max_df,
        title_weight=settings.rank_title_weight,
        min_relevance=settings.rank_min_relevance,
        recency_half_life_hours=settings.rank_half_life_hours,
    )


def _audience(phrases: Iterable[str]) -> tuple[str, ...]:
    return tuple(" ".join(p.lower().split()) for p in phrases)


def _item_texts(rows: Sequence, gems: dict[int, list]) -> list[ItemText]:
    out = []
    for r in rows:
        audience: tuple[str, ...] = ()
        if r.id in gems:
            phrases = [p for g in gems[r.id] for p in g.audience]
            audience = _audience(phrases) if phrases else ("*",)
        out.append(
            ItemText(
                id=str(r.id),
                title=r.title,
                text=r.text,
                source_id=str(r.origin_source_id),
                published_at=r.published_at or r.first_seen_at,
                gem_audience=audience,
            )
        )
    return out


_COLUMNS = (I.c.id, I.c.title, I.c.text, I.c.origin_source_id, I.c.published_at, I.c.first_seen_at)


def refresh_model(engine: Engine, settings: Settings, now: datetime | None = None) -> bool:
    """Fit the model on the recent window and store it. False when there is nothing to fit."""
    now = now or utcnow()
    since = now - timedelta(days=settings.rank_window_days)
    with engine.connect() as conn:
        rows = conn.execute(
            select(*_COLUMNS)
            .where(I.c.first_seen_at >= since)
            .order_by(I.c.id.desc())
            .limit(settings.rank_max_items)
        ).all()
    if not rows:
        return False
    gems = GemStore(engine).gems_for_items([r.id for r in rows])
    model = CorpusModel.fit(_item_texts(rows, gems), rank_config(settings))
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    with engine.begin() as conn:
        conn.execute(
            RM.insert().values(
                created_at=now, item_count=len(rows), max_item_id=rows[0].id, blob=blob
            )
        )
        newest = conn.execute(select(func.max(RM.c.id))).scalar_one()
        conn.execute(delete(RM).where(RM.c.id < newest))
    return True


class Recommender:
    """Ranks candidates for people with the newest stored model (refreshed incrementally)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.config = rank_config(settings)
        self.gems = GemStore(engine)
        self.people = PeopleStore(engine)
        self._lock = threading.Lock()
        self._model: CorpusModel | None = None
        self._model_id = 0
        self._max_item_id = 0
        self._max_gem_id = 0

    def model(self) -> CorpusModel | None:
        """The stored model plus every item added or tagged as a gem since (no refit)."""
        with self._lock, self.engine.connect() as conn:
            latest = conn.execute(
                select(RM.c.id, RM.c.max_item_id).order_by(RM.c.id.desc()).limit(1)
            ).first()
            if latest is None:
                return None
            if latest.id != self._model_id:
                blob = conn.execute(select(RM.c.blob).where(RM.c.id == latest.id)).scalar_one()
                self._model = pickle.loads(blob)  # noqa: S301 - our own model, see above
                self._model_id, self._max_item_id, self._max_gem_id = (
                    latest.id,
                    latest.max_item_id,
                    0,
                )
            new_items = select(*_COLUMNS).where(I.c.id > self._max_item_id)
            new_gems = select(G.c.id, G.c.item_id).where(G.c.id > self._max_gem_id)
            gem_rows = conn.execute(new_gems).all()
            query = new_items
            if gem_rows:  # re-add gem items so the ranker sees their audience
                query = query.union(
                    select(*_COLUMNS).where(I.c.id.in_({r.item_id for r in gem_rows}))
                )
            changed = conn.execute(query).all()
            if changed and self._model is not None:
                gems = self.gems.gems_for_items([r.id for r in changed])
                self._model = self._model.add_items(_item_texts(changed, gems))
                self._max_item_id = max(self._max_item_id, *(r.id for r in changed))
            if gem_rows:
                self._max_gem_id = max(r.id for r in gem_rows)
            return self._model

    def rank(
        self,
        person: PersonRecord,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        exclude: Iterable[int] = (),
    ) -> list[Candidate]:
        """The person's best items first seen in ``(since, until]``, above the minimum relevance."""
        model = self.model()
        if model is None or not person.interests:
            return []
        skip = set(exclude)
        with self.engine.connect() as conn:
            ids = [
                i
                for i in conn.execute(
                    select(I.c.id).where(I.c.first_seen_at > since, I.c.first_seen_at <= until)
                ).scalars()
                if i not in skip
            ]
        if not ids:
            return []
        reactions = self.people.reactions([person.id]).get(person.id, [])
        latest: dict[int, int] = {}
        for r in reactions:
            latest[r.item_id] = 1 if r.signal == "useful" else -1
        ranker_person = Person(
            id=str(person.id),
            interests=tuple(person.interests),
            mutes=tuple(person.mutes),
            feedback=tuple((str(i), s) for i, s in latest.items()),
            audiences=_audience(p for p, _ in person.interests),
        )
        ranked = rank_all(
            model, [ranker_person], until, self.config, limit, item_ids=[str(i) for i in ids]
        )[ranker_person.id]
        return [Candidate(int(r.item_id), float(r.score), r.why) for r in ranked]

    def gem_offers(self, *, since: datetime) -> list[GemOffer]:
        """Gems tagged since ``since`` (the digest window's start), oldest first."""
        return [
            GemOffer(g.id, g.item_id, g.note, g.audience, g.curator_name)
            for g in self.gems.recent_gems(since)
        ]
