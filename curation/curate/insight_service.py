"""What learners want, for curators: :class:`InsightService` (API and web pages alike).

It joins the set-based counts of :mod:`curation.storage.insights` with the ranking model
(coverage and an item's reach, :mod:`curation.rank.reach`) and passes every count of people
through the one fewer-than-5 rule (:func:`curation.curate.insights.people_figure`).

Coverage needs each interest phrase's calibrated vector against the model; the recommender's
per-model phrase cache keeps them. Every figure is an aggregate over weeks of data that moves
slowly, so each answer is kept for ``CURATION_INSIGHT_CACHE_SECONDS`` (60 s) per process and
served from memory in between: a busy insight page costs one computation a minute, whatever
the number of views. Once an answer is older than that, the next look starts its
recomputation in a background thread and still gets the previous answer; the new one replaces
it when done. So no request waits for a computation (a 100,000-item coverage takes most of a
second) except the very first look at a figure in a process, and a figure shown is at most
the cache time plus one computation old. Calls given an explicit ``now`` are always computed
(tests, batch use).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from curation.clock import utcnow
from curation.curate.insights import (
    COVERAGE_DAYS,
    DEFAULT_INTERESTS_SHOWN,
    MAX_INTERESTS_SHOWN,
    TREND_DAYS,
    GemInsight,
    InterestInsight,
    InterestMatch,
    ItemReach,
    SourceInsight,
    TrendPoint,
    is_gap,
    is_noise,
    people_figure,
    share,
)
from curation.errors import InvalidInput, NotFound
from curation.rank.reach import coverage, matches
from curation.rank.recommender import Recommender
from curation.settings import Settings
from curation.storage.insights import InsightQueries
from curation.storage.items import ItemQueries
from curation.storage.rank_models import RankStore

MAX_GEMS_SHOWN = 1000
DEFAULT_GEMS_SHOWN = 200
MAX_REACH_PHRASES = 5000  # the most-declared phrases an item's reach is checked against
T = TypeVar("T")
_ANSWERS_KEPT = 512  # cached answers (one per figure and limit, one per item looked at)
log = logging.getLogger(__name__)


class InsightService:
    def __init__(
        self,
        settings: Settings,
        *,
        queries: InsightQueries,
        ranking: RankStore,
        recommender: Recommender,
        items: ItemQueries,
    ) -> None:
        self.settings = settings
        self.queries = queries
        self.ranking = ranking
        self.recommender = recommender
        self.items = items
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self._refreshing: set[tuple] = set()

    def _cached(self, key: tuple, now: datetime | None, compute: Callable[[datetime], T]) -> T:
        """``compute(now)``, kept for ``insight_cache_seconds`` when ``now`` was not given.

        An answer older than that is still returned, and its recomputation started in a
        background thread (one at a time per key): no request waits for it. Only the first
        look at a key (nothing kept yet) computes in the caller."""
        ttl = self.settings.insight_cache_seconds
        if now is not None or ttl <= 0:
            return compute(now or utcnow())
        with self._lock:
            found = self._answers.get(key)
            if found is not None:
                if time.monotonic() - found[0] >= ttl and key not in self._refreshing:
                    self._refreshing.add(key)
                    threading.Thread(
                        target=self._refresh, args=(key, compute), name="insights", daemon=True
                    ).start()
                return found[1]  # type: ignore[return-value] - fresh, or being refreshed
            self._refreshing.add(key)
        try:
            value = compute(utcnow())
            self._keep(key, value)
        finally:
            with self._lock:
                self._refreshing.discard(key)
        return value

    def _refresh(self, key: tuple, compute: Callable[[datetime], object]) -> None:
        """Recompute an old answer (in a background thread); on failure the old one stays and
        the next look after the cache time tries again."""
        try:
            self._keep(key, compute(utcnow()))
        except Exception:
            log.exception("insights: recomputing %s failed; the previous answer stays", key[0])
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _keep(self, key: tuple, value: object) -> None:
        with self._lock:
            self._answers[key] = (time.monotonic(), value)
            self._answers.move_to_end(key)
            while len(self._answers) > _ANSWERS_KEPT:
                self._answers.popitem(last=False)

    # ---- interests -------------------------------------------------------------------------

    def interests(
        self, now: datetime | None = None, *, limit: int = DEFAULT_INTERESTS_SHOWN
    ) -> list[InterestInsight]:
        """Declared interests by number of people (most first), with how many items above the
        relevance floor each had in the last 7 and 30 days, and whether that is a gap."""
        if not 1 <= limit <= MAX_INTERESTS_SHOWN:
            raise InvalidInput(f"limit must be between 1 and {MAX_INTERESTS_SHOWN}")
        return self._cached(("interests", limit), now, lambda at: self._interests(at, limit))

    def _interests(self, now: datetime, limit: int) -> list[InterestInsight]:
        day = now.date().isoformat()
        if not self.queries.has_snapshot(day):  # the day's first look records the trend
            self.queries.save_snapshot(day, self.queries.interest_phrases())
        phrases = self.queries.interest_phrases(limit)
        counts = self._coverage_of([p.phrase for p in phrases], now)
        since = (now - timedelta(days=TREND_DAYS)).date().isoformat()
        trends = self.queries.trends([p.key for p in phrases], since)
        gap_items = self.settings.insight_gap_items
        return [
            InterestInsight(
                phrase=p.phrase,
                people=people_figure(p.people),
                items_7d=c[0],
                items_30d=c[1],
                gap=is_gap(c[1], gap_items),
                trend=tuple(TrendPoint(d, people_figure(n)) for d, n in trends[p.key]),
            )
            for p, c in zip(phrases, counts, strict=True)
        ]

    def _coverage_of(self, phrases: list[str], now: datetime) -> list[list[int]]:
        model = self.recommender.model()
        if model is None or not phrases:
            return [[0] * len(COVERAGE_DAYS) for _ in phrases]
        windows = [
            [str(i) for i in self.ranking.first_seen_ids(now - timedelta(days=d), now)]
            for d in COVERAGE_DAYS
        ]
        return coverage(
            model,
            phrases,
            self.recommender.config,
            windows,
            cache=self.recommender.phrase_cache(model),
        )

    # ---- sources and gems --------------------------------------------------------------------

    def sources(self, now: datetime | None = None) -> list[SourceInsight]:
        """Every source's value over the last 30 days (see :class:`SourceInsight`)."""
        return self._cached(("sources",), now, self._sources)

    def _sources(self, now: datetime) -> list[SourceInsight]:
        rows = self.queries.source_counts(now - timedelta(days=COVERAGE_DAYS[-1]))
        return [
            SourceInsight(
                source_id=r.source_id,
                title=r.title,
                items_30d=r.items,
                reached=r.reached,
                reached_share=share(r.reached, r.items),
                useful=people_figure(r.useful_people),
                not_useful=people_figure(r.not_useful_people),
                noise=is_noise(r.items, r.reached),
            )
            for r in rows
        ]

    def gems(
        self, now: datetime | None = None, *, limit: int = DEFAULT_GEMS_SHOWN
    ) -> list[GemInsight]:
        """The newest gems' reach: delivered, opened (counted opens), marked useful."""
        if not 1 <= limit <= MAX_GEMS_SHOWN:
            raise InvalidInput(f"limit must be between 1 and {MAX_GEMS_SHOWN}")
        return self._cached(("gems", limit), now, lambda _at: self._gems(limit))

    def _gems(self, limit: int) -> list[GemInsight]:
        return [
            GemInsight(
                gem_id=g.gem_id,
                item_id=g.item_id,
                item_title=g.item_title,
                delivered=people_figure(g.delivered),
                opened=people_figure(g.opened),
                useful=people_figure(g.useful),
            )
            for g in self.queries.gem_counts(limit)
        ]

    # ---- one item ----------------------------------------------------------------------------

    def item_reach(self, item_id: int, now: datetime | None = None) -> ItemReach:
        """Which declared interests ``item_id`` matches above the relevance floor, and how
        many people declared at least one of them."""
        if not self.items.exists(item_id):
            raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
        return self._cached(("item", item_id), now, lambda _at: self._item_reach(item_id))

    def _item_reach(self, item_id: int) -> ItemReach:
        model = self.recommender.model()
        if model is None:
            return ItemReach(item_id, False, (), people_figure(0))
        phrases = self.queries.interest_phrases(MAX_REACH_PHRASES)
        found = matches(
            model,
            [p.phrase for p in phrases],
            self.recommender.config,
            str(item_id),
            cache=self.recommender.phrase_cache(model),
        )
        if found is None:
            return ItemReach(item_id, False, (), people_figure(0))
        matched = [
            InterestMatch(phrases[i].phrase, people_figure(phrases[i].people), round(score, 3))
            for i, score in found
        ]
        people = self.queries.people_with_any([phrases[i].key for i, _ in found])
        return ItemReach(item_id, True, tuple(matched), people_figure(people))
