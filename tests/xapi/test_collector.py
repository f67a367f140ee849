"""The collector turns what people did with items into xAPI statements in the outbox: one per
event, with a stable id, however often it runs; nothing is sent without an LRS."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from curation.storage.tables import XapiOutbox
from curation.xapi.statements import VERBS
from tests.xapi.conftest import NOW, World

T = XapiOutbox.__table__


def queued(world: World) -> list[dict]:
    with world.domain.engine.connect() as conn:
        rows = conn.execute(select(T.c.statement_id, T.c.body, T.c.state).order_by(T.c.id)).all()
    out = []
    for sid, body, state in rows:
        doc = json.loads(body)
        assert doc["id"] == sid and state == "pending"
        out.append(doc)
    return out


def test_each_event_becomes_one_statement_with_a_stable_id(world: World) -> None:
    ada, bob = world.people
    a, b, c = world.items[:3]
    world.digest(ada, "2026-12-01", [a, b])
    world.digest(bob, "2026-12-01", [a])
    world.react(ada, a, "useful")
    world.react(ada, b, "saved")
    world.open(ada, b)

    first = world.domain.xapi.run(NOW)  # no CURATION_XAPI_URL: collected, not sent
    assert first.flushed is None and first.collected.queued == 6 and first.pending == 6
    docs = queued(world)
    verbs = sorted((d["actor"]["account"]["name"], d["verb"]["id"]) for d in docs)
    assert verbs == sorted(
        [
            (str(ada), VERBS["received"][0]),
            (str(ada), VERBS["received"][0]),
            (str(bob), VERBS["received"][0]),
            (str(ada), VERBS["useful"][0]),
            (str(ada), VERBS["saved"][0]),
            (str(ada), VERBS["opened"][0]),
        ]
    )
    received = next(d for d in docs if d["verb"]["id"] == VERBS["received"][0])
    assert received["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": "https://curation.example.org", "name": str(ada)},
    }
    assert received["object"]["id"] == "https://example.org/x0"
    assert received["object"]["definition"]["name"] == {"en": "Article 0"}
    assert received["object"]["definition"]["moreInfo"] == "https://example.org/x0"
    assert received["timestamp"].startswith("2026-12-01T07:00:00")
    assert all(uuid.UUID(d["id"]).version == 5 for d in docs)

    # run again (and again): the overlap rereads rows, nothing is queued twice
    assert world.domain.xapi.run(NOW).collected.queued == 0
    assert world.domain.xapi.run(NOW).collected.queued == 0
    assert [d["id"] for d in queued(world)] == [d["id"] for d in docs]

    # new events after the watermark: only they are added; a changed reaction is a new event
    world.digest(ada, "2026-12-02", [c])
    world.react(ada, a, "not_useful")
    again = world.domain.xapi.run(NOW)
    assert again.collected.queued == 2 and again.pending == 8
    last = queued(world)[-2:]
    assert {d["verb"]["id"] for d in last} == {VERBS["received"][0], VERBS["not_useful"][0]}


def test_the_watermark_survives_a_new_process(any_store) -> None:
    from tests.xapi.conftest import make_world

    w1 = make_world(any_store)
    ada = w1.people[0]
    w1.digest(ada, "2026-12-01", w1.items[:2])
    assert w1.domain.xapi.collect(NOW).queued == 2
    w1.domain.close()
    from curation.services import make_curation

    again = make_curation(w1.domain.settings)
    try:
        assert again.xapi.collect(NOW).queued == 0
        assert again.xapi.store.watermark("received") > 0
    finally:
        again.close()
