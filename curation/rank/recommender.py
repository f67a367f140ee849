"""The ranking core wired to storage: the batch-fitted model, live candidates, people.

:func:`refresh_model` is the batch step (after ingest): it fits the TF-IDF/BM25 model on the
recent window and stores it. :class:`Recommender` loads the newest stored model once per
process, adds items first seen since the fit without refitting (cheaper), and ranks a person's
candidates with the pure core in :mod:`curation.rank`.
"""

from __future__ import annotations

import logging
import pickle  # noqa: S403 - only ever loads models this service pickled into its own database
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from curation.clock import utcnow
from curation.people.records import PersonRecord
from curation.rank import CorpusModel, ItemText, PersonQuery, RankConfig, rank_all
from curation.rank.model import EmptyCorpus
from curation.rank.types import Candidate
from curation.settings import Settings
from curation.storage.gems import GemStore
from curation.storage.people import PeopleStore
from curation.storage.rank_models import RankStore

log = logging.getLogger(__name__)


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


def refresh_model(
    settings: Settings, store: RankStore, gems: GemStore, now: datetime | None = None
) -> bool:
    """Fit the model on the recent window and store it. False when there is nothing to fit."""
    now = now or utcnow()
    rows = store.window(now - timedelta(days=settings.rank_window_days), settings.rank_max_items)
    if not rows:
        return False
    by_item = gems.gems_for_items([r.id for r in rows])
    try:
        model = CorpusModel.fit(_item_texts(rows, by_item), rank_config(settings))
    except EmptyCorpus as exc:
        log.info("ranking model not fitted: %s", exc)
        return False
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    store.save_model(now=now, item_count=len(rows), max_item_id=rows[0].id, blob=blob)
    return True


class Recommender:
    """Ranks candidates for people with the newest stored model (refreshed incrementally)."""

    def __init__(
        self, settings: Settings, *, store: RankStore, gems: GemStore, people: PeopleStore
    ) -> None:
        self.settings = settings
        self.config = rank_config(settings)
        self.store = store
        self.gems = gems
        self.people = people
        self._lock = threading.Lock()
        self._model: CorpusModel | None = None
        self._model_id = 0
        self._max_item_id = 0
        self._max_gem_id = 0

    def ready(self) -> bool:
        """Whether a fitted model exists (nothing can be ranked before the first fit)."""
        return self._model is not None or self.store.latest() is not None

    def model(self) -> CorpusModel | None:
        """The stored model plus every item added or tagged as a gem since (no refit)."""
        with self._lock:
            latest = self.store.latest()
            if latest is None:
                return None
            model_id, max_item_id = latest
            if model_id != self._model_id:
                self._model = pickle.loads(self.store.blob(model_id))  # noqa: S301 - our own
                self._model_id, self._max_item_id, self._max_gem_id = model_id, max_item_id, 0
            new_gems = self.store.gems_after(self._max_gem_id)
            # re-add gem items so the ranker sees their audience
            changed = self.store.items_after(self._max_item_id, {i for _, i in new_gems})
            if changed and self._model is not None:
                by_item = self.gems.gems_for_items([r.id for r in changed])
                self._model = self._model.add_items(_item_texts(changed, by_item))
                self._max_item_id = max(self._max_item_id, *(r.id for r in changed))
            if new_gems:
                self._max_gem_id = max(g for g, _ in new_gems)
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
        ids = [i for i in self.store.first_seen_between(since, until) if i not in skip]
        if not ids:
            return []
        reactions = self.people.reactions([person.id]).get(person.id, [])
        latest: dict[int, int] = {}
        for r in reactions:
            latest[r.item_id] = 1 if r.signal == "useful" else -1
        ranker_person = PersonQuery(
            id=str(person.id),
            interests=tuple(person.interests),
            mutes=tuple(person.mutes),
            feedback=tuple((str(i), s) for i, s in latest.items()),
            audiences=_audience(p for p, _ in person.interests),
        )
        ranked = rank_all(
            model, [ranker_person], until, self.config, limit, item_ids=[str(i) for i in ids]
        )[ranker_person.id]
        found = [Candidate(int(r.item_id), float(r.score), r.why) for r in ranked]
        # shown best first: the diversity step chose the set, the scores order it
        found.sort(key=lambda c: -c.score)
        return found
