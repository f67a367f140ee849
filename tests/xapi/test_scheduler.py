"""The embedded scheduler sends xAPI statements after the digests, only when an LRS is set."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from curation.scheduler import tick
from curation.storage.tables import XapiOutbox
from tests.helpers.net import free_port
from tests.xapi.conftest import make_world

T = XapiOutbox.__table__


def outbox(world) -> list[tuple[str, int]]:  # noqa: ANN001
    with world.domain.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(T.c.state, T.c.attempts))]


def test_no_lrs_no_statements(store) -> None:
    world = make_world(store)
    try:
        world.digest(world.people[0], "2026-12-01", world.items[:2])
        asyncio.run(tick(world.domain))
        assert outbox(world) == []  # CURATION_XAPI_URL unset: the tick leaves xAPI alone
    finally:
        world.domain.close()


def test_a_tick_collects_and_tries_to_send(store) -> None:
    down = f"http://127.0.0.1:{free_port()}/xAPI"  # nothing listens there
    world = make_world(store, xapi_url=down, xapi_user="u", xapi_password="p")
    try:
        world.digest(world.people[0], "2026-12-01", world.items[:2])
        asyncio.run(tick(world.domain))
        # queued, one attempt made against the dead LRS, kept for the next try
        assert outbox(world) == [("pending", 1), ("pending", 1)]
    finally:
        world.domain.close()
