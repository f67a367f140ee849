"""Events to turn into xAPI statements, recorded as the service records them: digests (with
their items), reactions and opens, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from curation.people.records import NewPerson
from curation.services import Curation, make_curation
from curation.storage.digests import DigestRows, NewDigest, PickRow
from curation.storage.feeds import FeedWrite, Store
from curation.storage.insights import OpenStore
from tests.helpers.settings import settings_for
from tests.helpers.store import clean_item

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


@dataclass
class World:
    domain: Curation
    people: list[int]
    items: list[int]

    def digest(self, person_id: int, day: str, items: list[int], at: datetime = NOW) -> None:
        picks = [PickRow(item_id=i, section="for_you", score=0.5) for i in items]
        DigestRows(self.domain.engine).record_many(
            [NewDigest(person_id, day, at - timedelta(days=1), picks)],
            now=at,
            payload=lambda d, digest_id: "{}",
        )

    def react(self, person_id: int, item_id: int, signal: str) -> None:
        self.domain.people.record_feedback(person_id, item_id, signal)

    def open(self, person_id: int, item_id: int, at: datetime = NOW) -> None:
        OpenStore(self.domain.engine).record(person_id, item_id, now=at)


def make_world(store: Store, **overrides: object) -> World:
    settings = settings_for(store, public_base_url="https://curation.example.org", **overrides)
    domain = make_curation(settings)
    # a closed loopback port: an ingest cycle (the scheduler's tick) fails at once, offline
    source = store.add_source("http://127.0.0.1:9/rss", title="Example")
    items = [clean_item(f"x{n}", title=f"Article {n}") for n in range(6)]
    store.save_feeds([FeedWrite(source.id, items)], now=NOW, next_attempt_at=NOW)
    ids = [store_item_id(store, f"https://example.org/x{n}") for n in range(6)]
    people = [
        domain.people.create(NewPerson(email=f"x{n}@example.org", name=f"P {n}"))[0].id
        for n in range(2)
    ]
    return World(domain, people, ids)


def store_item_id(store: Store, key: str) -> int:
    from sqlalchemy import select

    from curation.storage.tables import Item

    with store.engine.connect() as conn:
        return conn.execute(select(Item.id).where(Item.dedupe_key == key)).scalar_one()


@pytest.fixture
def world(any_store: Store):
    w = make_world(any_store)
    yield w
    w.domain.close()
