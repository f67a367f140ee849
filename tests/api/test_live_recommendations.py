"""``GET /v1/me/recommendations`` answered from memory (issue 16): the same bytes and ETag while
nothing it depends on changed, 304 on ``If-None-Match``, and a new answer as soon as an item
arrives, the model is refitted, or the person's interests or feedback change: at once when the
change goes through the same API process, within ``CURATION_RANK_LIVE_CHECK_SECONDS`` when it
is made elsewhere (straight into the database here, as the scheduler or a worker would)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.routes.digests import LIVE_THREADS
from curation.storage.feeds import Store
from tests.helpers.api import Actor, Api, open_api
from tests.helpers.settings import db_url
from tests.helpers.store import clean_item


def item(key: str, title: str, text: str) -> object:
    return clean_item(key, title=title, text=text, published=datetime.now(UTC))


#: different enough from each other that the ranker's diversity step keeps them all
ANGLES = {
    "tip0": "pytest fixtures scope conftest",
    "tip1": "mocking patch doubles spies",
    "tip2": "coverage branches reports gaps",
    "fresh": "hypothesis property strategies shrinking",
    "arrived": "tox nox matrix environments",
    "later": "mutation mutants survivors killing",
}


def python_item(key: str) -> object:
    return item(key, f"Python testing: {key}", f"python testing {ANGLES[key]} " * 4)


def seeded(api: Api) -> tuple[Actor, int, list[int]]:
    """Python items and one on gardening, first seen now; a fitted model; a Python learner."""
    source = api.source()
    others = [  # other topics, so the Python words stay under the model's max_df
        item(f"{topic}{n}", f"{topic} {n}", f"{words} " * 5)
        for n in range(2)
        for topic, words in (
            ("cooking", "recipe kitchen oven bread"),
            ("football", "league match goal striker"),
            ("sailing", "boat wind harbour sail"),
        )
    ]
    ids = api.items(
        source,
        [python_item(f"tip{n}") for n in range(3)]
        + [item("roses", "Roses in winter", "garden roses tulips soil " * 5)]
        + [item("tulips", "Tulips", "garden tulips roses bulbs " * 5)]
        + others,
        now=datetime.now(UTC),
    )
    assert api.app.state.domain.get().refit()
    return api.person(interests=[("python testing", 1.0)]), source, ids


def listed(response) -> list[int]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return [r["item"]["id"] for r in response.json()["items"]]


@pytest.fixture
def remembering(any_store: Store) -> Iterator[Api]:
    """The app with a long bound: changes made elsewhere are not looked for in a test's time."""
    with open_api(db_url(any_store), rank_live_check_seconds=300) as api:
        yield api


@pytest.fixture
def checking(any_store: Store) -> Iterator[Api]:
    """The app with a bound of one second."""
    with open_api(db_url(any_store), rank_live_check_seconds=1) as api:
        yield api


def test_an_unchanged_list_is_the_same_bytes_with_an_etag_and_304(remembering: Api) -> None:
    api = remembering
    person, _, ids = seeded(api)
    first = api.client.get("/v1/me/recommendations", headers=person.headers)
    assert listed(first) and set(listed(first)) <= set(ids[:3])  # Python items, no roses
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "private, no-cache"
    again = api.client.get("/v1/me/recommendations", headers=person.headers)
    assert again.content == first.content and again.headers["etag"] == etag
    assert again.headers["x-request-id"] != first.headers["x-request-id"]

    same = api.client.get(
        "/v1/me/recommendations", headers={**person.headers, "If-None-Match": etag}
    )
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    other = api.client.get(
        "/v1/me/recommendations", headers={**person.headers, "If-None-Match": '"nope"'}
    )
    assert other.status_code == 200 and other.content == first.content
    fewer = api.client.get("/v1/me/recommendations?limit=1", headers=person.headers)
    assert len(listed(fewer)) == 1 and fewer.headers["etag"] != etag

    # the ranking calls behind the first answer and the limit=1 one (the others were answered
    # from memory) are counted in /metrics, none failed
    exposition = api.client.get("/metrics").text
    counted = re.search(r"^curation_live_rank_batch_size_count (\S+)$", exposition, re.M)
    assert counted and float(counted.group(1)) == 2.0, exposition
    assert re.search(r"^curation_live_rank_batch_failures_total 0\.0$", exposition, re.M)

    # the misses were ranked in the live ranking's own threads, not the endpoints' few
    assert api.app.state.live_threads.total_tokens == LIVE_THREADS > api.settings.api_threads

    # still authenticated and authorised on every request, cached answer or not
    assert api.client.get("/v1/me/recommendations").status_code == 401
    bad = api.client.get("/v1/me/recommendations", headers={"Authorization": "Bearer cur_wrong"})
    assert bad.status_code == 401 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_changes_through_the_api_are_seen_at_once(remembering: Api) -> None:
    api = remembering
    person, source, ids = seeded(api)
    first = listed(api.client.get("/v1/me/recommendations", headers=person.headers))

    # an item stored elsewhere: within the (long) bound the remembered answer stands
    new = api.items(source, [python_item("fresh")], now=datetime.now(UTC))[0]
    assert listed(api.client.get("/v1/me/recommendations", headers=person.headers)) == first

    # feedback through the API: seen at once, and so is the item stored meanwhile
    top = first[0]
    said = api.client.post(
        "/v1/me/feedback", headers=person.headers, json={"item_id": top, "signal": "not_useful"}
    )
    assert said.status_code < 300, said.text
    after = listed(api.client.get("/v1/me/recommendations", headers=person.headers))
    assert top not in after and new in after

    # new interests: the person record is part of the key, so the answer changes at once
    changed = api.client.put(
        "/v1/me/interests", headers=person.headers, json=[{"phrase": "garden roses", "weight": 1}]
    )
    assert changed.status_code == 200, changed.text
    assert set(listed(api.client.get("/v1/me/recommendations", headers=person.headers))) == set(
        ids[3:5]
    )


def test_changes_made_elsewhere_are_seen_within_the_bound(checking: Api) -> None:
    api = checking
    person, source, _ = seeded(api)
    first = api.client.get("/v1/me/recommendations", headers=person.headers)
    domain = api.app.state.domain.get()

    def seen(predicate) -> bool:  # noqa: ANN001
        deadline = time.monotonic() + 5  # the bound is 1 s
        while time.monotonic() < deadline:
            answer = api.client.get("/v1/me/recommendations", headers=person.headers)
            if predicate(answer):
                return True
            time.sleep(0.2)
        return False

    # a new item, stored as an ingest in another process would
    new = api.items(source, [python_item("arrived")], now=datetime.now(UTC))[0]
    assert seen(lambda a: new in listed(a))
    assert (
        api.client.get("/v1/me/recommendations", headers=person.headers).headers["etag"]
        != (first.headers["etag"])
    )

    # feedback recorded elsewhere (the e-mail link of a digest, another API process)
    api.people.record_feedback(person.id, new, "not_useful")
    assert seen(lambda a: new not in listed(a))

    # a refit elsewhere: a new model, so a new answer (built from it, not remembered)
    before = domain.recommender.live_version(person.id)
    api.items(source, [python_item("later")], now=datetime.now(UTC))
    assert domain.refit()
    assert seen(lambda a: domain.recommender.live_version(person.id) not in (None, before))
    latest = api.client.get("/v1/me/recommendations", headers=person.headers)
    assert domain.recommender._model_id == domain.ranking.latest()[0]  # noqa: SLF001
    assert latest.status_code == 200


def test_past_the_bound_one_state_query_renews_everyone_while_nothing_changed(
    checking: Api,
) -> None:
    """Once the bound has passed, the first request reads the state (one small query) and,
    with no feedback changed anywhere, nobody's reactions are read again: the remembered
    answers stand for everyone (before change marks, each person's were read again)."""
    api = checking
    person, _, _ = seeded(api)
    other = api.person(interests=[("garden roses", 1.0)])
    asked = {
        p: api.client.get("/v1/me/recommendations", headers=p.headers) for p in (person, other)
    }
    engine = api.app.state.domain.get().engine
    statements: list[str] = []

    def listen(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(" ".join(statement.split()))

    time.sleep(1.1)  # past the bound of 1 s
    event.listen(engine, "before_cursor_execute", listen)
    try:
        again = {
            p: api.client.get("/v1/me/recommendations", headers=p.headers) for p in (person, other)
        }
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    for p in (person, other):
        assert again[p].status_code == 200 and again[p].content == asked[p].content
    assert not [s for s in statements if "FROM feedback" in s], statements
    assert [s for s in statements if "change_marks" in s], statements

    # a write in this process that changed no feedback (AfterWrites tells the domain after
    # every request that may write): the state is read again at once, nobody's reactions
    statements.clear()
    api.app.state.domain.changed()
    event.listen(engine, "before_cursor_execute", listen)
    try:
        for p in (person, other):
            assert api.client.get("/v1/me/recommendations", headers=p.headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert not [s for s in statements if "FROM feedback" in s], statements
    assert len([s for s in statements if "change_marks" in s]) == 1, statements

    # feedback recorded elsewhere moves the mark: that person's list changes within the bound
    top = listed(asked[person])[0]
    api.people.record_feedback(person.id, top, "not_useful")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if top not in listed(api.client.get("/v1/me/recommendations", headers=person.headers)):
            break
        time.sleep(0.2)
    else:
        pytest.fail("feedback recorded elsewhere was not seen within the bound")


def test_an_aged_answer_is_served_once_more_while_built_again_behind(any_store: Store) -> None:
    """Past CURATION_RANK_CACHE_SECONDS (nothing new): the kept answer is served at once and
    built again in the background (one ranking call, counted in /metrics); past twice that,
    the request waits for a new one."""
    with open_api(db_url(any_store), rank_live_check_seconds=300, rank_cache_seconds=1) as api:
        person, _, _ = seeded(api)
        with TestClient(api.app) as client:  # one event loop for the background task

            def batches() -> float:
                text = client.get("/metrics").text
                found = re.search(r"^curation_live_rank_batch_size_count (\S+)$", text, re.M)
                return float(found.group(1)) if found else 0.0

            first = client.get("/v1/me/recommendations", headers=person.headers)
            assert first.status_code == 200 and batches() == 1.0
            time.sleep(1.1)  # aged, younger than twice the cache time
            aged = client.get("/v1/me/recommendations", headers=person.headers)
            assert aged.status_code == 200 and aged.content == first.content
            deadline = time.monotonic() + 10
            while batches() < 2.0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert batches() == 2.0  # built again behind the answer
            again = client.get("/v1/me/recommendations", headers=person.headers)
            assert again.status_code == 200 and batches() == 2.0  # the new one, kept
            time.sleep(2.1)  # older than twice the cache time: the request waits for a ranking
            late = client.get("/v1/me/recommendations", headers=person.headers)
            assert late.status_code == 200 and batches() == 3.0


def test_no_interests_is_answered_with_its_note_every_time(remembering: Api) -> None:
    api = remembering
    seeded(api)
    person = api.person()
    for _ in range(2):
        answer = api.client.get("/v1/me/recommendations", headers=person.headers)
        assert answer.status_code == 200 and answer.json()["items"] == []
        assert "no interests" in answer.json()["note"]
