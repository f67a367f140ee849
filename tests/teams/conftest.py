"""A small world for the team tests: items on three topics, a fitted model, and people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from curation.ingest.pipeline import ingest
from curation.people.records import NewPerson, PersonRecord
from curation.services import Curation, make_curation
from curation.storage.feeds import Store
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import settings_for

DAY1 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@dataclass
class World:
    store: Store
    curation: Curation
    server: FeedServer

    def person(self, name: str, interest: str, **fields: object) -> PersonRecord:
        return self.curation.people.create(
            NewPerson(
                email=f"{name.lower()}@example.org",
                name=name,
                interests=[(interest, 1.0)],
                **fields,  # type: ignore[arg-type]
            )
        )[0]

    def item_ids(self, topic: str) -> list[int]:
        """Stored items of one topic (py, garden, lead), by their URL."""
        model = self.curation.recommender.model()
        assert model is not None
        views = self.curation.digests.item_views([int(i) for i in model.ids])
        return sorted(i for i, v in views.items() if f"{topic}.example.org" in (v.url or ""))


@pytest.fixture
def world(any_store: Store, feed_server: FeedServer) -> World:
    settings = settings_for(any_store, digest_max_items=5)
    any_store.add_source(feed_server.add("/mixed", body=rss("Mixed", topic_items("d1", 6))))
    ingest(any_store, settings, now=DAY1 - timedelta(hours=1))
    curation = make_curation(settings, engine=any_store.engine)
    assert curation.refit(now=DAY1)
    return World(any_store, curation, feed_server)
