"""Live rankings that miss the cache at the same time are ranked in one batch, and each person
still gets exactly what ranking them alone gives (curation/rank/batching.py and
:meth:`Recommender.rank`), on a real store and a fitted model; the batcher on its own."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from curation.errors import Unavailable
from curation.people.records import NewPerson, PersonRecord
from curation.rank.batching import Batcher, shared_moments
from curation.rank.recommender import Recommender, refresh_model
from curation.rank.types import Candidate
from curation.settings import Settings
from curation.storage.feeds import Store
from curation.storage.gems import GemStore
from curation.storage.people import PeopleStore
from curation.storage.rank_models import RankStore
from tests.helpers.settings import settings_for
from tests.helpers.store import clean_item, save

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)
TOPICS = {
    "python testing": "python pytest fixtures unit tests coverage mocking developers code",
    "garden tomatoes": "garden soil compost watering tomatoes vegetables prune harvest",
    "team leadership": "managers coach team feedback meetings goals delegation trust",
    "rocket launch": "rocket launch space station orbit engine countdown astronauts",
    "hockey playoffs": "hockey playoffs goalie puck arena winger trade season",
    "bread baking": "bread baking sourdough flour oven yeast crust dough",
}
FILLER = ["today", "news", "report", "people", "week", "update", "story", "local", "plan"]
# when each batch of items was first seen: windows starting at other times hold other items
BATCHES = (NOW - timedelta(hours=20), NOW - timedelta(hours=5), NOW - timedelta(hours=1))


def _items(store: Store) -> None:
    rnd = random.Random(16)
    sources = [store.add_source(f"https://feeds{k}.example.org/rss").id for k in range(5)]
    for b, seen in enumerate(BATCHES):
        items: dict[int, list] = {s: [] for s in sources}
        for t, (topic, words) in enumerate(TOPICS.items()):
            for j in range(4):
                chosen = rnd.sample(words.split(), 5) + rnd.sample(FILLER, 3)
                key = f"{b}-{t}-{j}"
                items[sources[(t + j) % 5]].append(
                    clean_item(
                        key,
                        title=f"{topic.title()} {' '.join(chosen[:3])}",
                        text=" ".join(chosen * 2),
                        published=seen - timedelta(minutes=5 * j),
                    )
                )
        for source, found in items.items():
            save(store, source, *found, now=seen)


World = tuple[Settings, list[PersonRecord], Engine]


@pytest.fixture
def world(any_store: Store) -> World:
    _items(any_store)
    settings = settings_for(any_store)
    assert refresh_model(settings, RankStore(any_store.engine), GemStore(any_store.engine), NOW)
    people = PeopleStore(any_store.engine)
    topics = list(TOPICS)
    persons = []
    for k in range(16):  # 16 people, each with one or two of the topics
        chosen = [topics[k % 6]] + ([topics[(k + 1 + k // 6) % 6]] if k % 3 else [])
        record, _ = people.create(
            NewPerson(
                email=f"p{k}@example.org",
                name=f"P{k}",
                interests=[(t, 1.0 + (k % 4) / 4) for t in dict.fromkeys(chosen)],
            )
        )
        persons.append(record)
    return settings, persons, any_store.engine


def recommender(world: World, cls: type[Recommender] = Recommender) -> Recommender:
    """A new recommender (nothing cached) on the world's database."""
    settings, _, engine = world
    return cls(settings, store=RankStore(engine), gems=GemStore(engine), people=PeopleStore(engine))


class HeldRecommender(Recommender):
    """A real recommender whose first live batch waits until the test lets it go, so that
    the rankings asked meanwhile are queued for the next batch (a batch that surely forms)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.holding = threading.Event()
        self.release = threading.Event()

    def _rank_live(self, jobs):  # noqa: ANN001, ANN202
        if not self.holding.is_set():
            self.holding.set()
            assert self.release.wait(30)
        return super()._rank_live(jobs)


def run_threads(calls: Sequence[Callable[[], object]]) -> list[object]:
    """Each call in its own thread; what each returned, or the exception it raised."""
    out: list[object] = [None] * len(calls)

    def run(k: int) -> None:
        try:
            out[k] = calls[k]()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    return out


def held_batch(
    rec: HeldRecommender, first: Callable[[], object], rest: Sequence[Callable[[], object]]
) -> tuple[list[object], Callable[[], None]]:
    """Start ``first`` (it leads the held batch), then ``rest`` (they queue behind it); returns
    a function that lets the batches go, and the list the results will be in once joined."""
    calls = [first, *rest]
    out: list[object] = [None] * len(calls)

    def run(k: int) -> None:
        try:
            out[k] = calls[k]()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    threads[0].start()
    assert rec.holding.wait(30)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 30
    while rec.live.queued() < len(rest):
        assert time.monotonic() < deadline, "the rankings never queued"
        time.sleep(0.01)

    def finish() -> None:
        rec.release.set()
        for t in threads:
            t.join(60)
            assert not t.is_alive()

    return out, finish


def alone(world: World, person: PersonRecord, **kwargs: object) -> list[Candidate]:
    """What ranking the person alone gives (a new recommender: nothing cached)."""
    return recommender(world).rank(person, **kwargs)[0]  # type: ignore[arg-type]


def test_concurrent_rankings_equal_ranking_each_person_alone(world: World) -> None:
    _, persons, _ = world
    rec = recommender(world)
    barrier = threading.Barrier(len(persons))

    def ask(person: PersonRecord) -> Callable[[], object]:
        def call() -> object:
            barrier.wait(30)
            return rec.rank(person, since=SINCE, until=NOW, limit=5)

        return call

    got = run_threads([ask(p) for p in persons])
    expected = [alone(world, p, since=SINCE, until=NOW, limit=5) for p in persons]
    for person, result, want in zip(persons, got, expected, strict=True):
        assert not isinstance(result, Exception), result
        ranked, version = result  # type: ignore[misc]
        assert ranked == want, person.interests
        assert version is not None
    assert all(expected) and len({tuple(c.item_id for c in w) for w in expected}) >= 8
    stats = rec.live.stats
    assert stats.requests == len(persons) and stats.batches <= len(persons)


def test_rankings_asked_during_a_batch_form_the_next_one(world: World) -> None:
    _, persons, _ = world
    rec = recommender(world, HeldRecommender)

    def ask(person: PersonRecord) -> Callable[[], object]:
        return lambda: rec.rank(person, since=SINCE, until=NOW, limit=5)[0]

    out, finish = held_batch(rec, ask(persons[0]), [ask(p) for p in persons[1:]])
    finish()
    assert rec.live.stats.batches == 2 and rec.live.stats.largest == len(persons) - 1
    assert out == [alone(world, p, since=SINCE, until=NOW, limit=5) for p in persons]
    # the lists are kept as before: asked again, the same list object comes back, no batch
    again = rec.rank(persons[3], since=SINCE, until=NOW + timedelta(seconds=5), limit=5)[0]
    assert again is out[3] and rec.live.stats.batches == 2


def test_different_windows_limits_and_moments_in_one_batch_are_each_right(
    world: World,
) -> None:
    _, persons, _ = world
    rec = recommender(world, HeldRecommender)
    a, b, c, d = persons[:4]
    soon = NOW - timedelta(milliseconds=300)  # asked 0.3 s earlier: ranked at NOW
    hours_ago = NOW - timedelta(hours=2)  # far apart: ranked at its own instant
    asks = [  # (person, since, until, limit, exclude)
        (a, NOW - timedelta(hours=6), NOW, 3, ()),
        (b, NOW - timedelta(hours=2), NOW, 5, ()),
        (c, SINCE, NOW, 10, ()),
        (a, SINCE, NOW, 5, ()),  # the same person twice with different wishes
        (a, SINCE, NOW, 5, ()),  # ... and the same wishes twice
        (a, NOW - timedelta(hours=2), NOW, 5, ()),  # ... and with the same limit: a 2nd call
        (d, SINCE, soon, 4, ()),
        (d, SINCE, hours_ago, 4, ()),
        (b, SINCE, NOW, 5, None),  # leaves out its best item of the day
    ]
    best_b = alone(world, b, since=SINCE, until=NOW, limit=5)[0].item_id
    asks[-1] = (b, SINCE, NOW, 5, (best_b,))

    def ask(person, since, until, limit, exclude) -> Callable[[], object]:  # noqa: ANN001
        return lambda: rec.rank(person, since=since, until=until, limit=limit, exclude=exclude)[0]

    first = ask(persons[5], SINCE, NOW, 5, ())
    out, finish = held_batch(rec, first, [ask(*x) for x in asks])
    finish()
    assert rec.live.stats.batches == 2 and rec.live.stats.largest == len(asks)
    for (person, since, until, limit, exclude), got in zip(asks, out[1:], strict=True):
        at = NOW if until == soon else until  # requests 0.3 s apart share the latest instant
        want = alone(world, person, since=since, until=at, limit=limit, exclude=exclude)
        assert got == want, (person.id, since, until, limit)
        assert got and len(got) <= limit
    # what differed did matter: windows, limits, instants hours apart, the exclusion
    assert out[4] == out[5] and len({tuple(out[k]) for k in (1, 4, 6)}) == 3
    assert out[7] != out[8]
    assert best_b not in [x.item_id for x in out[9]] and out[9] != out[2]
    # two calls for the instant NOW and limit 5 (person a twice), one per other limit and instant
    assert rec.live.stats.requests == len(asks) + 1


def test_an_error_in_a_batch_reaches_all_its_callers_and_the_next_call_works(
    world: World,
    any_store: Store,
) -> None:
    _, persons, _ = world
    rec = recommender(world, HeldRecommender)

    def ask(person: PersonRecord) -> Callable[[], object]:
        return lambda: rec.rank(person, since=SINCE, until=NOW, limit=5)[0]

    out, finish = held_batch(rec, ask(persons[0]), [ask(p) for p in persons[1:]])
    # the items' table goes away while the batches wait: their window query fails for real
    with any_store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE item RENAME TO item_away"))
    try:
        finish()
    finally:
        with any_store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE item_away RENAME TO item"))
    assert all(isinstance(e, Exception) and not isinstance(e, AssertionError) for e in out)
    assert len({id(e) for e in out[1:]}) == 1  # the second batch's one error, to all 15
    assert out[0] is not out[1]
    stats = rec.live.stats
    assert (stats.batches, stats.failed, stats.requests) == (2, 2, len(persons))
    # nothing is left hanging: the next call ranks
    assert rec.rank(persons[2], since=SINCE, until=NOW, limit=5)[0] == alone(
        world, persons[2], since=SINCE, until=NOW, limit=5
    )


# ---- the batcher on its own -----------------------------------------------------------------


def test_batcher_hands_each_caller_its_own_result_and_errors_to_the_whole_batch() -> None:
    entered, go = threading.Event(), threading.Event()
    seen: list[list[int]] = []

    def run(requests: Sequence[int]) -> list[int]:
        seen.append(list(requests))
        if len(seen) == 1:
            entered.set()
            assert go.wait(10)
        if 13 in requests:
            raise ValueError("thirteen")
        return [r * 2 for r in requests]

    batcher: Batcher[int, int] = Batcher(run, max_batch=4)
    observed: list[tuple[int, bool]] = []
    batcher.observe = lambda size, failed: observed.append((size, failed))
    results: dict[int, object] = {}

    def call(r: int) -> None:
        try:
            results[r] = batcher.call(r)
        except ValueError as exc:
            results[r] = exc

    threads = [threading.Thread(target=call, args=(0,))]
    threads[0].start()
    assert entered.wait(10)
    for r in (1, 2, 13, 4, 5, 6):  # queued behind the first: batches of at most 4
        threads.append(threading.Thread(target=call, args=(r,)))
        threads[-1].start()
        while batcher.queued() < len(threads) - 1:
            time.sleep(0.001)
    go.set()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert seen == [[0], [1, 2, 13, 4], [5, 6]]
    assert results[0] == 0 and results[5] == 10 and results[6] == 12
    errors = [results[r] for r in (1, 2, 13, 4)]
    assert all(isinstance(e, ValueError) for e in errors) and len({id(e) for e in errors}) == 1
    assert batcher.stats.batches == 3 and batcher.stats.failed == 1 and batcher.stats.largest == 4
    assert observed == [(1, False), (4, True), (2, False)]  # what /metrics counts
    assert batcher.call(7) == 14  # and the next call works


def test_a_caller_waits_a_bounded_time() -> None:
    entered, go = threading.Event(), threading.Event()

    def run(requests: Sequence[int]) -> list[int]:
        entered.set()
        assert go.wait(10)
        return list(requests)

    batcher: Batcher[int, int] = Batcher(run, wait_seconds=0.2)
    leader = threading.Thread(target=batcher.call, args=(1,))
    leader.start()
    assert entered.wait(10)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        batcher.call(2)
    assert 0.15 < time.monotonic() - started < 5
    assert batcher.queued() == 0  # its request left the queue: nobody ranks it for nothing
    go.set()
    leader.join(10)
    assert batcher.stats.requests == 1


def test_shared_moments_group_requests_made_together() -> None:
    t = NOW
    span = timedelta(seconds=1)
    untils = [t, t - timedelta(milliseconds=400), t - timedelta(seconds=3), t + timedelta(0)]
    assert shared_moments(untils, span) == [t, t, t - timedelta(seconds=3), t]
    chain = [t, t - timedelta(milliseconds=900), t - timedelta(milliseconds=1800)]
    # never more than the span later than asked, even along a chain of close requests
    assert shared_moments(chain, span) == [t, t, t - timedelta(milliseconds=1800)]
    assert shared_moments([], span) == []


def test_a_window_that_slid_is_moved_exactly(world: World) -> None:
    """The live window read last is moved when it slides a little (the items that left it
    and those that entered it): the lists are those of windows read whole."""
    _, persons, _ = world
    rec = recommender(world)
    first, second = BATCHES[0], BATCHES[1]
    asks = [  # the first batch of items leaves the window while the second enters it
        (first - timedelta(minutes=5), second - timedelta(minutes=5)),
        (first - timedelta(minutes=1), second - timedelta(minutes=1)),  # nothing moves
        (first + timedelta(minutes=1), second + timedelta(minutes=1)),
        (first + timedelta(minutes=7), second + timedelta(minutes=7)),
        (first - timedelta(minutes=3), second - timedelta(minutes=3)),  # back: both ways
    ]
    got = []
    for person, (since, until) in zip(persons, asks, strict=False):
        for p in (person, persons[8]):  # two people, as in one batch
            got.append(rec.rank(p, since=since, until=until, limit=10)[0])
            assert got[-1] == alone(world, p, since=since, until=until, limit=10)
    seen = [{c.item_id for c in ranked} for ranked in got]
    assert seen[0] and seen[1] and seen[4] and seen[6]
    assert not seen[0] & seen[4] and not seen[1] & seen[5]  # the windows hold other items
    assert seen[9] == seen[1]  # and back


class SlowLoadStore(RankStore):
    """A real rank store whose read of a stored model waits until the test lets it go (a big
    model takes seconds to load)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.loading = threading.Event()
        self.release = threading.Event()

    def blob(self, model_id: int) -> bytes:
        self.loading.set()
        assert self.release.wait(30)
        return super().blob(model_id)


def test_the_live_state_answers_while_another_thread_loads_the_model(world: World) -> None:
    """The event loop asks :meth:`Recommender.live_version` (every live request) and
    :meth:`Recommender.changed` (after every write): both answer at once while a thread loads
    the model (as the API's start-up does), instead of holding the event loop until it ends."""
    settings, persons, engine = world
    store = SlowLoadStore(engine)
    rec = Recommender(settings, store=store, gems=GemStore(engine), people=PeopleStore(engine))
    loader = threading.Thread(target=rec.model)
    loader.start()
    try:
        assert store.loading.wait(30)
        answered: list[object] = []
        probe = threading.Thread(
            target=lambda: answered.append(
                (rec.live_version(persons[0].id), rec.changed(), rec.loaded())
            )
        )
        probe.start()
        probe.join(5)
        assert not probe.is_alive(), "the live state waited for the model load"
        assert answered == [(None, None, False)]
    finally:
        store.release.set()
        loader.join(30)
    assert not loader.is_alive()
    assert rec.loaded()
    assert rec.live_version(persons[0].id) is None  # nothing ranked yet: no version to serve
