"""What learners want, for curators: :class:`InsightService` (API and web pages alike).

It joins the set-based counts of :mod:`curation.storage.insights` with the ranking model
(coverage and an item's reach, :mod:`curation.rank.reach`) and passes every count of people
through the one fewer-than-5 rule (:func:`curation.curate.insights.people_figure`).

The three big figures (interests, sources, gems) are aggregates over weeks of data that move
slowly, and the interests' coverage of 100,000 items takes most of a second of CPU. So they are
computed off the request path and shared: the scheduler (``curation run``) or a worker's job
(``curation.refresh_insights``) calls :meth:`InsightService.refresh` each round, which
recomputes a figure once its stored computation is ``CURATION_INSIGHT_CACHE_SECONDS`` old (300
s) and stores it (table ``insight_figures``, at the largest size asked for: smaller lists are
its prefix). Every API process reads the stored figures (checking for a newer computation at
most every few seconds) and never computes them while someone keeps them current. With no
scheduler or worker beside it (``curation serve`` alone), an API process computes a figure
itself: in the caller on the very first look (nothing stored), and in a background thread, while
still answering with the stored one, once it is older than twice the cache time. A figure shown
is at most twice the cache time plus one computation old. Calls given an explicit ``now`` are
always computed and never stored (tests, batch use).

An item's reach is cheap and per item: each process keeps its answers for the cache time.
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
    dump_figures,
    is_gap,
    is_noise,
    load_gems,
    load_interests,
    load_sources,
    people_figure,
    share,
)
from curation.errors import InvalidInput, NotFound
from curation.rank.reach import calibrate, coverage, matches
from curation.rank.recommender import Recommender
from curation.settings import Settings
from curation.storage.insights import InsightQueries
from curation.storage.items import ItemQueries
from curation.storage.rank_models import RankStore

MAX_GEMS_SHOWN = 1000
DEFAULT_GEMS_SHOWN = 200
MAX_REACH_PHRASES = 5000  # the most-declared phrases an item's reach is checked against
T = TypeVar("T")
_ANSWERS_KEPT = 512  # cached answers of items' reach, one per item looked at
_RECHECK_SECONDS = 5.0  # the most an API process waits to see figures stored by another
#: the stored figures: their JSON reader
FIGURES: dict[str, Callable[[str], list]] = {
    "interests": load_interests,
    "sources": load_sources,
    "gems": load_gems,
}
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
        # figure name -> (monotonic time the store was read, computed at, the figures)
        self._latest: dict[str, tuple[float, datetime, list]] = {}

    # ---- the shared figures --------------------------------------------------------------------

    def refresh(self, now: datetime | None = None, *, force: bool = False) -> list[str]:
        """Recompute and store each figure whose stored computation is at least the cache time
        old (every one with ``force``); the names recomputed. The scheduler and the workers'
        round call it; cheap when everything is current (one small query per figure)."""
        now = now or utcnow()
        ttl = self.settings.insight_cache_seconds
        done = []
        for name in FIGURES:
            stored = None if force else self.queries.stored_figures(name)
            if stored is not None and (now - stored[0]).total_seconds() < ttl:
                continue
            self._store(name, now, self._compute(name, now))
            done.append(name)
        return done

    def _compute(self, name: str, now: datetime) -> list:
        """Figure ``name`` at its largest size (what is shown smaller is its prefix)."""
        if name == "interests":
            return self._interests(now, MAX_INTERESTS_SHOWN)
        if name == "sources":
            return self._sources(now)
        return self._gems(MAX_GEMS_SHOWN)

    def _store(self, name: str, computed_at: datetime, values: list) -> None:
        self.queries.store_figures(name, computed_at, dump_figures(values))
        with self._lock:
            self._latest[name] = (time.monotonic(), computed_at, values)

    def _shared(self, name: str, limit: int | None = None) -> list:
        """Figure ``name`` (its first ``limit``) as stored; see the module's docstring."""
        ttl = self.settings.insight_cache_seconds
        if ttl <= 0:
            return self._compute(name, utcnow())[:limit]
        latest = self._read(name, min(_RECHECK_SECONDS, ttl / 4))
        if latest is None:  # the first look anywhere: computed here, and stored for everyone
            now = utcnow()
            values = self._compute(name, now)
            self._store(name, now, values)
            return values[:limit]
        computed_at, values = latest
        if (utcnow() - computed_at).total_seconds() >= 2 * ttl:  # nobody keeps it current
            with self._lock:
                start = name not in self._refreshing
                self._refreshing.add(name)
            if start:
                threading.Thread(
                    target=self._refresh_here, args=(name,), name="insights", daemon=True
                ).start()
        return values[:limit]

    def _read(self, name: str, recheck: float) -> tuple[datetime, list] | None:
        """The newest figures this process knows of, asking the store at most every
        ``recheck`` seconds."""
        with self._lock:
            known = self._latest.get(name)
        if known is not None and time.monotonic() - known[0] < recheck:
            return known[1], known[2]
        stored = self.queries.stored_figures(name)
        if stored is None:
            return None if known is None else (known[1], known[2])
        if known is not None and known[1] >= stored[0]:
            values = known[2]
        else:
            values = FIGURES[name](stored[1])
        with self._lock:
            self._latest[name] = (time.monotonic(), stored[0], values)
        return stored[0], values

    def _refresh_here(self, name: str) -> None:
        """Recompute an old figure in this process (a background thread); on failure the old
        one stays and the next look tries again."""
        try:
            now = utcnow()
            self._store(name, now, self._compute(name, now))
        except Exception:
            log.exception("insights: recomputing %s failed; the previous figures stay", name)
        finally:
            with self._lock:
                self._refreshing.discard(name)

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
        if now is not None:
            return self._interests(now, limit)
        return self._shared("interests", limit)

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
        return self._sources(now) if now is not None else self._shared("sources")

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
        return self._gems(limit) if now is not None else self._shared("gems", limit)

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

    def item_reach(
        self, item_id: int, now: datetime | None = None, *, known: bool = False
    ) -> ItemReach:
        """Which declared interests ``item_id`` matches above the relevance floor, and how
        many people declared at least one of them. ``known``: the caller has just read the
        item (it exists: not asked again); else an unknown id is NotFound."""
        if not known and not self.items.exists(item_id):
            raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
        return self._cached(("item", item_id), now, lambda _at: self._item_reach(item_id))

    def warm(self) -> bool:
        """Load the ranking model and calibrate the phrases an item's reach is checked against,
        now, rather than in the first request that needs them: on 100,000 items loading the
        model takes seconds (an API process calls this from a background thread at start-up,
        :func:`app.main.create_app`). False when there is no model yet."""
        model = self.recommender.model()
        if model is None:
            return False
        phrases = self.queries.interest_phrases(MAX_REACH_PHRASES)
        calibrate(
            model,
            [p.phrase for p in phrases],
            self.recommender.config,
            self.recommender.phrase_cache(model),
        )
        return True

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
