"""A share becomes one xAPI "shared" statement (Activity Streams' share verb), once."""

from __future__ import annotations

import json

from sqlalchemy import select

from curation.storage.tables import XapiOutbox
from curation.xapi.statements import VERBS
from tests.xapi.conftest import (
    NOW,
    World,
    world,  # noqa: F401 - the fixture
)


def test_a_share_is_a_shared_statement_once(world: World) -> None:  # noqa: F811
    ada, bob = world.people
    teams = world.domain.teams
    team = teams.create("Platform", now=NOW)
    teams.set_members(team.id, [ada, bob])
    teams.share(
        world.domain.people.get(ada), item_id=world.items[0], team_id=team.id, note="n", now=NOW
    )
    first = world.domain.xapi.run(NOW)
    again = world.domain.xapi.run(NOW)
    assert first.collected.queued == 1 and again.collected.queued == 0
    with world.domain.engine.connect() as conn:
        (body,) = conn.execute(select(XapiOutbox.__table__.c.body)).scalars().all()
    doc = json.loads(body)
    assert VERBS["shared"][0] == "http://activitystrea.ms/schema/1.0/share"
    assert doc["verb"] == {"id": VERBS["shared"][0], "display": {"en": "shared"}}
    assert doc["actor"]["account"]["name"] == str(ada)
    assert doc["object"]["id"] == "https://example.org/x0"
    assert doc["timestamp"].startswith("2026-12-01T07:00:00")
