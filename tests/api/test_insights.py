"""``/v1/insights/*``: what learners want, for curators, as aggregates only; every count of
people under 5 is "fewer than 5". A real fitted model over topical items, real digests,
feedback and counted opens, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from curation.clock import utcnow
from curation.curate.insights import FEWER_THAN_5, people_figure
from curation.errors import NotFound
from curation.storage.tables import Digest, DigestItem, InterestSnapshot, ItemOpen
from tests.helpers.api import Actor, Api
from tests.helpers.store import clean_item

TOPICS = {
    "kube": (
        "Kubernetes clusters in production",
        "kubernetes pods containers deployment helm charts cluster autoscaling ingress",
    ),
    "garden": (
        "Growing tomatoes in the garden",
        "garden soil compost watering tomatoes vegetables prune plants harvest",
    ),
    "bake": (
        "Sourdough bread baking",
        "sourdough starter flour dough oven crust bread baking hydration loaf",
    ),
}


def topic_items(key: str, n: int, prefix: str) -> list:
    title, body = TOPICS[key]
    return [
        clean_item(f"{prefix}-{key}-{i}", title=f"{title} #{i}", text=f"{body} part {i}")
        for i in range(n)
    ]


def deliver(api: Api, person: Actor, item_ids: list[int], day: str) -> None:
    """A digest row with these items, as the builder records it (e-mail sent long ago)."""
    now = utcnow()
    with api.engine.begin() as conn:
        digest_id = conn.execute(
            insert(Digest)
            .values(
                person_id=person.id,
                day=day,
                window_start=now - timedelta(days=1),
                window_end=now,
                created_at=now,
                item_count=len(item_ids),
                payload="{}",
                email_status="sent",
                email_attempts=1,
                email_sent_at=now - timedelta(hours=5),
            )
            .returning(Digest.id)
        ).scalar_one()
        conn.execute(
            insert(DigestItem),
            [
                {"digest_id": digest_id, "person_id": person.id, "item_id": i, "section": "for_you"}
                for i in item_ids
            ],
        )


@pytest.fixture
def world(api: Api):
    """Two sources over the last month, people with interests, digests, reactions, a gem."""
    now = utcnow()
    good = api.source(title="Good blog")
    noisy = api.source(title="Noisy blog")
    recent = api.items(good, topic_items("kube", 10, "r"), now=now - timedelta(days=2))
    older = api.items(good, topic_items("kube", 6, "o"), now=now - timedelta(days=20))
    garden = api.items(good, topic_items("garden", 6, "g"), now=now - timedelta(days=3))
    bread = api.items(noisy, topic_items("bake", 25, "b"), now=now - timedelta(days=4))
    api.items(good, topic_items("garden", 5, "old"), now=now - timedelta(days=60))
    kube_people = [api.person(interests=[("Kubernetes", 1.0)]) for _ in range(5)]
    kube_people.append(api.person(interests=[("kubernetes", 1.0)]))  # the same phrase, any case
    garden_people = [api.person(interests=[("Garden", 1.0)]) for _ in range(3)]
    quantum_people = [api.person(interests=[("quantum chromodynamics", 1.0)]) for _ in range(7)]
    curator = api.person("curator")
    domain = api.app.state.domain.get()
    assert domain.refit(now)

    gem = api.gem(curator, recent[0])
    # the gem's item reached 6 people, 5 opened it, 4 found it useful
    for n, p in enumerate(kube_people):
        deliver(api, p, [recent[0], recent[1 + n]], day="2026-12-01")
    with api.engine.begin() as conn:
        conn.execute(
            insert(ItemOpen),
            [{"person_id": p.id, "item_id": recent[0], "opened_at": now} for p in kube_people[:5]],
        )
    for p in kube_people[:4]:
        api.people.record_feedback(p.id, recent[0], "useful")
    for p in kube_people[4:]:
        api.people.record_feedback(p.id, recent[1], "not_useful")
    for p in garden_people:
        deliver(api, p, [garden[0]], day="2026-12-01")
        api.people.record_feedback(p.id, garden[0], "useful")
    people = kube_people + garden_people + quantum_people
    return {
        "curator": curator,
        "good": good,
        "noisy": noisy,
        "recent": recent,
        "older": older,
        "garden": garden,
        "bread": bread,
        "gem": gem,
        "people": people,
    }


def get(api: Api, who: Actor, path: str) -> dict:
    answer = api.client.get(path, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_fewer_than_5_rule() -> None:
    assert [people_figure(n) for n in (0, 1, 4, 5, 6)] == [FEWER_THAN_5] * 3 + [5, 6]


def test_interests_by_people_with_coverage_and_gaps(api: Api, world) -> None:
    found = get(api, world["curator"], "/v1/insights/interests")["interests"]
    by_phrase = {i["phrase"].lower(): i for i in found}
    assert [i["phrase"].lower() for i in found] == [
        "quantum chromodynamics",
        "kubernetes",
        "garden",
    ]  # most people first
    kube = by_phrase["kubernetes"]
    assert kube["people"] == 6  # "Kubernetes" and "kubernetes" are one interest
    assert kube["items_7d"] == 10 and kube["items_30d"] == 16 and kube["gap"] is False
    garden = by_phrase["garden"]
    assert garden["people"] == FEWER_THAN_5  # 3 people: never the number
    assert garden["items_7d"] == 6 and garden["items_30d"] == 6  # the 60-day-old ones: not
    quantum = by_phrase["quantum chromodynamics"]
    assert quantum["people"] == 7
    assert quantum["items_30d"] == 0 and quantum["gap"] is True  # "add sources for this"
    assert (
        get(api, world["curator"], "/v1/insights/interests?limit=1")["interests"][0]["phrase"]
        == "quantum chromodynamics"
    )


def test_gap_threshold_is_a_setting(api: Api, world) -> None:
    domain = api.app.state.domain.get()
    strict = type(domain.insights)(
        domain.settings.model_copy(update={"insight_gap_items": 7}),
        queries=domain.insights.queries,
        ranking=domain.insights.ranking,
        recommender=domain.insights.recommender,
        items=domain.insights.items,
    )
    gaps = {i.phrase.lower(): i.gap for i in strict.interests()}
    assert gaps == {"quantum chromodynamics": True, "kubernetes": False, "garden": True}


def test_source_value(api: Api, world) -> None:
    found = get(api, world["curator"], "/v1/insights/sources")["sources"]
    by_id = {s["source_id"]: s for s in found}
    good = by_id[world["good"]]
    assert good["items_30d"] == 22  # 10 + 6 kube + 6 garden; the 60-day-old five are out
    assert good["reached"] == 8  # recent[0..6] and garden[0]
    assert good["useful"] == 7  # 4 on the gem + 3 on the garden item
    assert good["not_useful"] == FEWER_THAN_5  # 2 people
    assert good["noise"] is False
    noisy = by_id[world["noisy"]]
    assert noisy["items_30d"] == 25 and noisy["reached"] == 0
    assert noisy["useful"] == FEWER_THAN_5 and noisy["noise"] is True


def test_gem_reach(api: Api, world) -> None:
    found = get(api, world["curator"], "/v1/insights/gems")["gems"]
    assert found == [
        {
            "gem_id": world["gem"],
            "item_id": world["recent"][0],
            "item_title": "Kubernetes clusters in production #0",
            "delivered": 6,
            "opened": 5,
            "useful": FEWER_THAN_5,  # 4 people
        }
    ]


def test_who_an_item_would_reach(api: Api, world) -> None:
    curator = world["curator"]
    kube = get(api, curator, f"/v1/insights/items/{world['recent'][3]}")
    assert kube["in_window"] is True
    assert [m["phrase"].lower() for m in kube["interests"]] == ["kubernetes"]
    assert kube["interests"][0]["people"] == 6 and kube["people"] == 6
    assert kube["interests"][0]["relevance"] >= api.settings.rank_min_relevance
    garden = get(api, curator, f"/v1/insights/items/{world['garden'][1]}")
    assert [m["phrase"].lower() for m in garden["interests"]] == ["garden"]
    assert garden["people"] == FEWER_THAN_5
    bread = get(api, curator, f"/v1/insights/items/{world['bread'][0]}")
    assert bread["interests"] == [] and bread["people"] == FEWER_THAN_5
    assert api.client.get("/v1/insights/items/999999", headers=curator.headers).status_code == 404


def test_insights_are_aggregates_only_and_for_curators(api: Api, world) -> None:
    curator = world["curator"]
    learner = world["people"][0]
    for path in (
        "/v1/insights/interests",
        "/v1/insights/sources",
        "/v1/insights/gems",
        f"/v1/insights/items/{world['recent'][0]}",
    ):
        assert api.client.get(path, headers=learner.headers).status_code == 403
        assert api.client.get(path).status_code == 401
        text = api.client.get(path, headers=curator.headers).text
        for person in world["people"]:  # no person is named, by id or e-mail
            assert api.people.get(person.id).email not in text
            assert '"person_id"' not in text


def _service(api: Api, ttl: float, base: type | None = None):  # noqa: ANN202
    """Another InsightService over the same database: another API process, or the scheduler."""
    domain = api.app.state.domain.get()
    return (base or type(domain.insights))(
        domain.settings.model_copy(update={"insight_cache_seconds": ttl}),
        queries=domain.insights.queries,
        ranking=domain.insights.ranking,
        recommender=domain.insights.recommender,
        items=domain.insights.items,
    )


def _noisy(service, world) -> int:  # noqa: ANN001
    return {s.source_id: s.items_30d for s in service.sources()}[world["noisy"]]


def test_figures_are_stored_once_and_shared_by_every_process(api: Api, world) -> None:
    curator = world["curator"]
    domain = api.app.state.domain.get()

    def noisy_items() -> int:
        found = get(api, curator, "/v1/insights/sources")["sources"]
        return next(s["items_30d"] for s in found if s["source_id"] == world["noisy"])

    assert noisy_items() == 25  # the first look anywhere computes, and stores
    api.items(world["noisy"], topic_items("bake", 2, "late"), now=utcnow())
    assert noisy_items() == 25  # kept for the cache time
    assert {s.source_id: s.items_30d for s in domain.insights.sources(utcnow())}[
        world["noisy"]
    ] == 27  # an explicit instant is always computed ...
    assert noisy_items() == 25  # ... and never stored
    assert _noisy(_service(api, 0), world) == 27  # 0: computed on every request

    computed: list[str] = []

    class Counting(type(domain.insights)):
        def _sources(self, now):  # noqa: ANN001, ANN202 - the real computation, counted
            computed.append("sources")
            return super()._sources(now)

    other = _service(api, 300, Counting)  # another API process: reads what was stored
    assert _noisy(other, world) == 25 and computed == []
    # the scheduler computes what nobody stored yet, and leaves the current figure alone
    assert other.refresh() == ["interests", "gems"] and computed == []
    assert other.refresh() == [] and computed == []  # every figure current: nothing to do

    scheduler = _service(api, 0.2, Counting)
    time.sleep(0.3)
    assert set(scheduler.refresh()) == {"interests", "sources", "gems"}  # old: recomputed
    assert computed == ["sources"]
    for _ in range(100):  # every process sees the new figures within a few seconds
        if noisy_items() == 27 and _noisy(other, world) == 27:
            break
        time.sleep(0.1)
    assert noisy_items() == 27
    assert _noisy(other, world) == 27 and computed == ["sources"]  # read, not computed


def test_an_api_process_alone_recomputes_old_figures_itself(api: Api, world) -> None:
    """With nobody keeping the figures current (no scheduler), a process recomputes them
    once they are twice the cache time old, in the background, and stores them."""
    short = _service(api, 0.2)
    assert _noisy(short, world) == 25
    api.items(world["noisy"], topic_items("bake", 1, "later"), now=utcnow())
    assert _noisy(short, world) == 25
    time.sleep(0.5)  # past twice the cache time: the next look gets the kept answer at once ...
    assert _noisy(short, world) == 25
    for _ in range(100):  # ... and recomputes it in the background (bounded wait)
        if _noisy(short, world) == 26:
            break
        time.sleep(0.05)
    assert _noisy(short, world) == 26
    assert _noisy(_service(api, 300), world) == 26  # stored for the other processes


def test_an_old_answer_is_recomputed_in_the_background_never_in_the_request(
    api: Api, world
) -> None:
    """Past twice the cache time a look returns at once with the kept figures, even while
    their recomputation is still running (here held until the test lets it go)."""
    domain = api.app.state.domain.get()
    release, started = threading.Event(), threading.Event()

    class Held(type(domain.insights)):
        def _sources(self, now):  # noqa: ANN001, ANN202 - the real computation, held
            if getattr(self, "hold", False):
                started.set()
                assert release.wait(10)
            return super()._sources(now)

    service = _service(api, 0.2, Held)
    noisy = lambda: _noisy(service, world)  # noqa: E731
    assert noisy() == 25  # the first look computes in the caller
    api.items(world["noisy"], topic_items("bake", 2, "late"), now=utcnow())
    service.hold = True
    time.sleep(0.5)
    began = time.monotonic()
    assert noisy() == 25 and started.wait(5)  # a recomputation is running, held
    assert noisy() == 25 and time.monotonic() - began < 2  # nobody waited for it
    release.set()
    for _ in range(100):  # bounded wait for the background thread
        if noisy() == 27:
            break
        time.sleep(0.05)
    assert noisy() == 27


def test_interest_trend_from_daily_snapshots(api: Api, world) -> None:
    domain = api.app.state.domain.get()
    now = utcnow()
    with api.engine.begin() as conn:  # what earlier days recorded
        conn.execute(
            insert(InterestSnapshot),
            [
                {"day": (now - timedelta(days=2)).date().isoformat(), "phrase_key": k, "people": n}
                for k, n in (("kubernetes", 3), ("garden", 2))
            ]
            + [
                {
                    "day": (now - timedelta(days=200)).date().isoformat(),
                    "phrase_key": "garden",
                    "people": 9,
                }
            ],
        )
    found = get(api, world["curator"], "/v1/insights/interests")["interests"]
    trend = {i["phrase"].lower(): i["trend"] for i in found}
    today = now.date().isoformat()
    two_days_ago = (now - timedelta(days=2)).date().isoformat()
    # today's look recorded today's counts; the 200-day-old point is outside the trend
    assert trend["kubernetes"] == [
        {"day": two_days_ago, "people": FEWER_THAN_5},
        {"day": today, "people": 6},
    ]
    assert trend["garden"] == [
        {"day": two_days_ago, "people": FEWER_THAN_5},
        {"day": today, "people": FEWER_THAN_5},
    ]
    assert trend["quantum chromodynamics"] == [{"day": today, "people": 7}]
    assert domain.insights.queries.has_snapshot(today)
    domain.insights.interests(now)  # a second look the same day records nothing more
    with api.engine.connect() as conn:
        rows = conn.execute(
            select(func.count()).select_from(InterestSnapshot).where(InterestSnapshot.day == today)
        ).scalar_one()
    assert rows == 3


def test_an_item_just_read_is_not_looked_up_again_for_its_reach(api: Api, world) -> None:
    """The item's page has read the item: its reach does not ask whether it exists again
    (``known=True``); asked alone, an unknown id is still NotFound."""
    service = api.app.state.domain.get().insights
    item = world["recent"][3]
    asked: list[int] = []
    exists = service.items.exists
    service.items.exists = lambda item_id: asked.append(item_id) or exists(item_id)
    try:
        known = service.item_reach(item, known=True)
        assert asked == []
        assert service.item_reach(item) == known and asked == [item]
        with pytest.raises(NotFound):
            service.item_reach(999999)
    finally:
        del service.items.exists
