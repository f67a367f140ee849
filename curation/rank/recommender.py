"""The ranking core wired to storage: the batch-fitted model, live candidates, people.

:func:`refresh_model` is the batch step (after ingest): it fits the TF-IDF/BM25 model on the
recent window and stores it. :class:`Recommender` loads the newest stored model once per
process, adds items first seen since the fit without refitting (cheaper), and ranks a person's
candidates with the pure core in :mod:`curation.rank`. Live rankings that miss the cache at the
same time are ranked together (:mod:`curation.rank.batching`).
"""

from __future__ import annotations

import logging
import pickle  # noqa: S403 - only ever loads models this service pickled into its own database
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from curation.clock import utcnow
from curation.longlived import settle
from curation.people.records import PersonRecord, Reaction
from curation.rank import CorpusModel, ItemText, PersonQuery, RankConfig, build_profiles, rank_all
from curation.rank.batching import Batcher, shared_moments
from curation.rank.model import EmptyCorpus
from curation.rank.pairs import score_pairs
from curation.rank.profile import PhraseCache
from curation.rank.types import Candidate
from curation.settings import Settings
from curation.storage.gems import GemStore
from curation.storage.people import PeopleStore
from curation.storage.rank_models import RankStore

log = logging.getLogger(__name__)
_RANKED_KEPT = 10_000  # people whose live ranked list a process keeps (least recent dropped)
_NEVER = float("-inf")
# live requests asked this close together are ranked at one instant, the latest of theirs
_SAME_MOMENT = timedelta(seconds=1)
# the live window read last is moved (a small query per end) rather than read again when each
# end moved by at most this much and no item was stored since (the model is the same)
_WINDOW_SLIDE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class RankRequest:
    """Rank for ``person`` the items first seen in ``(since, until]`` except ``exclude``."""

    person: PersonRecord
    since: datetime
    exclude: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class _LiveJob:
    """A live ranking that missed the cache, with what :meth:`Recommender.rank` read for it."""

    model: CorpusModel
    request: RankRequest
    until: datetime
    limit: int
    feedback: tuple[Reaction, ...]


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
            for_all = any(not g.audience and not getattr(g, "teams", ()) for g in gems[r.id])
            # an empty audience is everyone, unless the gem is aimed at teams (no boost then)
            audience = ("*",) if for_all else _audience(phrases)
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
        # ``_lock`` guards the state below for moments (the event loop takes it: see
        # :meth:`live_version`); ``_loading`` lets one thread at a time load or extend the
        # model, which takes seconds on a big one, without holding ``_lock`` meanwhile
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._model: CorpusModel | None = None
        self._model_id = 0
        self._max_item_id = 0
        self._max_gem_id = 0
        self._phrases_for: CorpusModel | None = None
        self._phrases: PhraseCache = {}
        self._ranked: OrderedDict[tuple, tuple] = OrderedDict()  # live lists: see :meth:`rank`
        # the live path's memory of what the database said (see :meth:`live_version`)
        self._model_version = 0  # bumped whenever ``_model`` is replaced
        self._state_checked = _NEVER  # monotonic time of the last state query begun
        # person id -> (their reactions, the feedback change mark read before reading them)
        self._feedback: OrderedDict[int, tuple[tuple, int]] = OrderedDict()
        self._feedback_mark: int | None = None  # as the last state query read it
        # concurrent cache misses of :meth:`rank`, ranked together
        self.live: Batcher[_LiveJob, tuple[list[Candidate], datetime]] = Batcher(self._rank_live)
        self._window: tuple[CorpusModel, datetime, datetime, list[int]] | None = None

    def ready(self) -> bool:
        """Whether a fitted model exists (nothing can be ranked before the first fit)."""
        return self._model is not None or self.store.latest() is not None

    def loaded(self) -> bool:
        """Whether this process holds a model already (no query: :meth:`model` loads one)."""
        return self._model is not None

    def model(self) -> CorpusModel | None:
        """The stored model plus every item added or tagged as a gem since (no refit). A new
        model is kept out of the garbage collector's full passes (:mod:`curation.longlived`)."""
        with self._loading:
            before = self._model
            model = self._current_model()
        if model is not before and model is not None:
            settle()
        return model

    def _current_model(self) -> CorpusModel | None:
        """:meth:`model`, under ``_loading``: the queries, the unpickling and the extension run
        without ``_lock``, and what they found is put in place under it at once."""
        state = self.store.state()  # one query; the rest only when something is new
        if state is None:
            return None
        model_id, max_item_id, newest_item, newest_gem, feedback_mark = state
        with self._lock:
            self._feedback_mark = feedback_mark
        if (
            model_id == self._model_id
            and newest_item <= self._max_item_id
            and newest_gem <= self._max_gem_id
        ):
            return self._model
        model, replaced = self._model, 0
        max_item, max_gem = self._max_item_id, self._max_gem_id
        if model_id != self._model_id:
            model = pickle.loads(self.store.blob(model_id))  # noqa: S301 - our own
            max_item, max_gem, replaced = max_item_id, 0, 1
        new_gems = self.store.gems_after(max_gem)
        # re-add gem items so the ranker sees their audience
        changed = self.store.items_after(max_item, {i for _, i in new_gems})
        if changed and model is not None:
            by_item = self.gems.gems_for_items([r.id for r in changed])
            model = model.add_items(_item_texts(changed, by_item))
            replaced += 1
            max_item = max(max_item, *(r.id for r in changed))
        if new_gems:
            max_gem = max(g for g, _ in new_gems)
        with self._lock:
            self._model, self._model_id = model, model_id
            self._max_item_id, self._max_gem_id = max_item, max_gem
            self._model_version += replaced
        return model

    # ---- the live path: bounded staleness instead of queries on every request -------------

    def live_version(self, person_id: int) -> tuple[int, tuple] | None:
        """What the person's live list depends on besides their record (the model with the
        items and gems added since, their feedback), as :meth:`rank` last read it from the
        database, if the state was read less than ``rank_live_check_seconds`` ago and said no
        feedback changed since the person's was read (the ``feedback`` change mark), else
        None. No I/O: the API answers from memory while this equals the version of the answer
        it keeps, and one state query every few seconds (by whichever request comes first)
        renews everyone's."""
        now = time.monotonic()
        check = self.settings.rank_live_check_seconds
        with self._lock:
            if now - self._state_checked >= check:
                return None
            found = self._feedback.get(person_id)
            if found is None or found[1] != self._feedback_mark:
                return None
            return (self._model_version, found[0])

    def changed(self) -> None:
        """Something was written in this process: :meth:`live_version` says None until
        :meth:`rank` has read the database again. The people's reactions stay: a write that
        changed any moved the ``feedback`` mark, which that read sees."""
        with self._lock:
            self._state_checked = _NEVER

    def _checked_model(self) -> tuple[CorpusModel | None, int]:
        """:meth:`model` and its version, noting when the database was asked."""
        now = time.monotonic()
        model = self.model()
        with self._lock:
            if self._model is not model:  # replaced meanwhile by another thread
                return model, -1  # a version nothing matches
            # the time the query began: a change made after it is seen within the bound
            self._state_checked = max(self._state_checked, now)
            return model, self._model_version

    def _checked_feedback(self, person_id: int) -> list[Reaction]:
        """The person's reactions: as read before when no feedback changed since (the mark
        the state query just read), else read again (and kept with that mark)."""
        with self._lock:
            mark = self._feedback_mark
            found = self._feedback.get(person_id)
            if found is not None and mark is not None and found[1] == mark:
                self._feedback.move_to_end(person_id)
                return list(found[0])
        reactions = self.people.reactions([person_id]).get(person_id, [])
        if mark is None:
            return reactions
        with self._lock:
            self._feedback[person_id] = (tuple(reactions), mark)
            self._feedback.move_to_end(person_id)
            while len(self._feedback) > _RANKED_KEPT:
                self._feedback.popitem(last=False)
        return reactions

    def phrase_cache(self, model: CorpusModel) -> PhraseCache:
        """Calibrated interest phrases kept for ``model`` (emptied when the model changes)."""
        with self._lock:
            if self._phrases_for is not model:
                self._phrases_for, self._phrases = model, {}
            return self._phrases

    def rank(
        self,
        person: PersonRecord,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        exclude: Iterable[int] = (),
    ) -> tuple[list[Candidate], tuple[int, tuple] | None]:
        """The person's best items first seen in ``(since, until]``, above the minimum relevance,
        and the version they were ranked at (as :meth:`live_version` says it; None: nothing
        could be ranked).

        Live ranking repeats itself (a client polling, a page reloaded): the list is reused for
        ``rank_cache_seconds`` while the model (new items or gems make a new one), the person's
        interests, mutes and feedback, the limit and the exclusions are the same and the window
        moved by less than that (so an item may stay listed up to that long after it left the
        window). Each call asks the database whether new items, a new model or new feedback
        exist (one small query), and reads the person's reactions again only when some
        feedback changed since they were read.

        Lists not reused are ranked in batches (:class:`~curation.rank.batching.Batcher`):
        people whose lists are wanted while another batch is ranked are ranked together when it
        ends, in one ranking call per limit. Requests made less than ``_SAME_MOMENT`` apart (as
        concurrent requests for "now" are) are ranked at one instant, the latest ``until`` of
        theirs: each person gets what ranking them alone with that ``until`` and their own
        ``since`` gives (so a list may hold an item first seen up to that long after its
        ``until``, the time the request was made; the list's reuse counts from that instant),
        with :meth:`rank_many`'s tolerance (for a batch of many people, the diversity step
        may look up similarities at float16 instead of float32: a near tie can differ)."""
        if not person.interests:
            return [], None
        model, version = self._checked_model()
        if model is None:
            return [], None
        request = RankRequest(person, since, frozenset(exclude))
        feedback = self._checked_feedback(person.id)
        ttl = timedelta(seconds=self.settings.rank_cache_seconds)
        key = (person, request.exclude, limit, tuple((r.item_id, r.signal) for r in feedback))
        with self._lock:
            found = self._ranked.get(key)
        if found is not None:
            for_model, at_since, at_until, ranked = found
            if (
                for_model is model
                and abs(since - at_since) <= ttl
                and timedelta(0) <= until - at_until <= ttl
            ):
                return ranked, (version, tuple(feedback))
        ranked, at = self.live.call(_LiveJob(model, request, until, limit, tuple(feedback)))
        if ttl:
            with self._lock:
                self._ranked[key] = (model, since, at, ranked)
                self._ranked.move_to_end(key)
                while len(self._ranked) > _RANKED_KEPT:
                    self._ranked.popitem(last=False)
        return ranked, (version, tuple(feedback))

    def rank_many(
        self, requests: Sequence[RankRequest], *, until: datetime, limit: int
    ) -> dict[int, list[Candidate]]:
        """:meth:`rank` for many people at once: one read of the candidates and of everyone's
        feedback, and one ranking call per group of people with the same candidates (people
        due together share their window; an excluded item inside the window sets a person
        apart), so each person gets what ranking them alone gives (the diversity step of a big
        group may look up similarities at float16 instead of float32: a near tie can differ)."""
        wanted = [r for r in requests if r.person.interests]
        model = self.model() if wanted else None
        if model is None:
            return {r.person.id: [] for r in requests}
        reactions = self.people.reactions([r.person.id for r in wanted])
        return self._rank_with(model, requests, until, limit, reactions)

    def score_items(
        self, wanted: Sequence[tuple[PersonRecord, Sequence[int]]], *, until: datetime
    ) -> dict[int, dict[int, tuple[float, str] | None]]:
        """Each person's own score of the given items (e.g. a teammate's shares), as ranking
        them would, with its *why* (:func:`curation.rank.pairs.score_pairs`): one profile
        build and one scoring call for everyone. Person id -> item id -> (score, why), or
        None for an item the person muted or judged; (0.0, "") when nothing can be scored
        (no interests, no model, an item older than the model's window)."""
        out: dict[int, dict[int, tuple[float, str] | None]] = {
            person.id: dict.fromkeys(ids, (0.0, "")) for person, ids in wanted
        }
        scored = [(person, ids) for person, ids in wanted if person.interests and ids]
        model = self.model() if scored else None
        if model is None:
            return out
        reactions = self.people.reactions([person.id for person, _ in scored])
        people = [_query(person, reactions.get(person.id, ())) for person, _ in scored]
        profiles = build_profiles(model, people, self.config, phrase_cache=self.phrase_cache(model))
        pairs = [(k, str(i)) for k, (_, ids) in enumerate(scored) for i in ids]
        results = score_pairs(model, profiles, pairs, until, self.config)
        for (k, item), result in zip(pairs, results, strict=True):
            out[scored[k][0].id][int(item)] = result
        return out

    def _rank_live(self, jobs: Sequence[_LiveJob]) -> list[tuple[list[Candidate], datetime]]:
        """A batch of :meth:`rank`'s misses: each job's list and the instant it was ranked at.
        One :meth:`_rank_with` call per model, instant and limit, each person once in a call
        (a person asked twice at once with different wishes is ranked in a second call; the
        same wishes twice are ranked once); one window query for everyone of an instant."""
        moments = shared_moments([j.until for j in jobs], _SAME_MOMENT)
        calls: dict[tuple[int, datetime, int], list[list[int]]] = {}
        first_of: dict[tuple, int] = {}  # identical jobs: the first of them
        same_as = list(range(len(jobs)))
        for k, job in enumerate(jobs):
            exact = (id(job.model), moments[k], job.limit, job.request, job.feedback)
            same_as[k] = first_of.setdefault(exact, k)
            if same_as[k] != k:
                continue
            rounds = calls.setdefault((id(job.model), moments[k], job.limit), [])
            person = job.request.person.id
            for members in rounds:
                if all(jobs[m].request.person.id != person for m in members):
                    members.append(k)
                    break
            else:
                rounds.append([k])
        windows: dict[tuple[int, datetime], dict[datetime, list[int]]] = {}
        out: list[tuple[list[Candidate], datetime]] = [([], j.until) for j in jobs]
        for (model_id, moment, limit), rounds in calls.items():
            model = jobs[rounds[0][0]].model
            window = windows.get((model_id, moment))
            if window is None:
                starts = {
                    job.request.since
                    for job, at in zip(jobs, moments, strict=True)
                    if at == moment and job.model is model
                }
                window = windows[model_id, moment] = self._windows(model, starts, moment)
            for members in rounds:
                requests = [jobs[m].request for m in members]
                reactions = {jobs[m].request.person.id: list(jobs[m].feedback) for m in members}
                ranked = self._rank_with(model, requests, moment, limit, reactions, window)
                for m, r in zip(members, requests, strict=True):
                    out[m] = (ranked[r.person.id], moment)
        return [out[same_as[k]] for k in range(len(jobs))]

    def _windows(
        self, model: CorpusModel, starts: Iterable[datetime], until: datetime
    ) -> dict[datetime, list[int]]:
        """For each start, the ids of the items first seen in ``(start, until]`` (in id order,
        as :meth:`RankStore.first_seen_ids` gives them); starts whose windows hold the same
        items share one list, and so one ranking call. The earliest start's window (see
        :meth:`_window_ids`), and one query for the items first seen between the starts (none,
        for requests made together); only when there are some, one per later start."""
        first, *later = sorted(set(starts))
        base = self._window_ids(model, first, until)
        if not later or not base or not self.store.first_seen_ids(first, min(later[-1], until)):
            return dict.fromkeys([first, *later], base)
        out = {first: base}
        shared: dict[frozenset[int], list[int]] = {frozenset(): base}
        for start in later:
            gone = frozenset(self.store.first_seen_ids(first, min(start, until)))
            ids = shared.get(gone)
            if ids is None:
                ids = shared[gone] = [i for i in base if i not in gone]
            out[start] = ids
        return out

    def _window_ids(self, model: CorpusModel, since: datetime, until: datetime) -> list[int]:
        """:meth:`RankStore.first_seen_ids` of ``(since, until]``. Reading thousands of ids
        costs more than ranking a person, and the live window only slides: while the model is
        the one the last window was read for (no item was stored since its state was read)
        and each end moved by at most ``_WINDOW_SLIDE``, the last one is moved instead, with a
        small query per end that moved (the items between its old and new place)."""
        with self._lock:
            last = self._window
        ids: list[int] | None = None
        if last is not None:
            for_model, at_since, at_until, kept = last
            if (
                for_model is model
                and max(since, at_since) <= min(until, at_until)  # the windows overlap
                and abs(since - at_since) <= _WINDOW_SLIDE
                and abs(until - at_until) <= _WINDOW_SLIDE
            ):
                ids = kept
                for old, new, grows in (
                    (at_since, since, since < at_since),
                    (at_until, until, until > at_until),
                ):
                    if old == new:
                        continue
                    moved = self.store.first_seen_ids(min(old, new), max(old, new))
                    if moved and grows:
                        ids = sorted({*ids, *moved})
                    elif moved:
                        gone = set(moved)
                        ids = [i for i in ids if i not in gone]
        if ids is None:
            ids = self.store.first_seen_ids(since, until)
        with self._lock:
            self._window = (model, since, until, ids)
        return ids

    def _rank_with(
        self,
        model: CorpusModel,
        requests: Sequence[RankRequest],
        until: datetime,
        limit: int,
        reactions: dict[int, list[Reaction]],
        windows: dict[datetime, list[int]] | None = None,
    ) -> dict[int, list[Candidate]]:
        """Each request's list; ``windows`` (start -> ids first seen until ``until``) when
        already read. One ranking call per window (one list object) and exclusion inside it."""
        out: dict[int, list[Candidate]] = {r.person.id: [] for r in requests}
        wanted = [r for r in requests if r.person.interests]
        window: dict[datetime, list[int]] = dict(windows or {})
        groups: dict[tuple[int, tuple[int, ...]], tuple[list[int], list[RankRequest]]] = {}
        for r in wanted:
            ids = window.get(r.since)
            if ids is None:  # people due together share a window: a query per distinct start
                ids = window[r.since] = self.store.first_seen_ids(r.since, until)
            skip = tuple(sorted(r.exclude.intersection(ids))) if r.exclude else ()
            groups.setdefault((id(ids), skip), (ids, []))[1].append(r)
        phrases = self.phrase_cache(model)
        for (_, skip), (window_ids, members) in groups.items():
            ids = [i for i in window_ids if i not in skip] if skip else window_ids
            if not ids:
                continue
            people = [_query(r.person, reactions.get(r.person.id, ())) for r in members]
            profiles = build_profiles(model, people, self.config, phrase_cache=phrases)
            ranked = rank_all(
                model,
                people,
                until,
                self.config,
                limit,
                profiles=profiles,
                item_ids=[str(i) for i in ids],
            )
            for r, query in zip(members, people, strict=True):
                found = [Candidate(int(c.item_id), float(c.score), c.why) for c in ranked[query.id]]
                # shown best first: the diversity step chose the set, the scores order it
                found.sort(key=lambda c: -c.score)
                out[r.person.id] = found
        return out


def _query(person: PersonRecord, reactions: Iterable[Reaction]) -> PersonQuery:
    """The ranker's view of a person: interests, mutes, the latest signal per item, audiences."""
    latest: dict[int, int] = {}
    for r in reactions:  # oldest first: the latest signal on an item wins
        latest[r.item_id] = 1 if r.signal == "useful" else -1
    return PersonQuery(
        id=str(person.id),
        interests=tuple(person.interests),
        mutes=tuple(person.mutes),
        feedback=tuple((str(i), s) for i, s in latest.items()),
        audiences=_audience(p for p, _ in person.interests),
    )
