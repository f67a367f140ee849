"""Builders for the API tests: the real app on a real database, people of every role, items.

Not a test module of its own (it defines no tests); the ``test_api*`` modules import it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.main import create_app
from curation.ingest.records import CleanItem
from curation.people.records import NewPerson
from curation.storage.engine import make_engine
from curation.storage.feeds import FeedWrite, Store
from curation.storage.gems import GemStore
from curation.storage.people import PeopleStore
from curation.storage.tables import Item
from tests.helpers.settings import make_settings
from tests.helpers.store import clean_item

ROLES = ("learner", "curator", "admin")
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Actor:
    id: int
    role: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Api:
    """One app over one database, with helpers that put data in through the domain."""

    def __init__(self, database_url: str, **overrides: object) -> None:
        # e-mail links are signed with this key (none is written to the working directory)
        overrides.setdefault("secret_key", "test-secret-" + "k" * 32)
        self.settings = make_settings(database_url, **overrides)
        self.engine = make_engine(database_url)
        self.store = Store(self.engine)
        self.people = PeopleStore(self.engine)
        self.gem_store = GemStore(self.engine)
        self.app = create_app(self.settings)
        self.client = TestClient(self.app)

    def person(self, role: str = "learner", **fields: object) -> Actor:
        email = f"{role}-{uuid.uuid4().hex[:10]}@example.org"
        record, key = self.people.create(
            NewPerson(email=email, name=f"A {role}", role=role, **fields)  # type: ignore[arg-type]
        )
        return Actor(record.id, role, key)

    def source(self, url: str | None = None, title: str | None = None) -> int:
        # a closed loopback port: an ingest cycle over it fails at once, without any network
        url = url or f"http://127.0.0.1:9/{uuid.uuid4().hex[:10]}.xml"
        return self.store.add_source(url, title=title).id

    def items(self, source_id: int, items: Sequence[CleanItem], now: datetime = NOW) -> list[int]:
        self.store.save_feeds([FeedWrite(source_id, items)], now=now, next_attempt_at=now)
        keys = [it.dedupe_key for it in items]
        with self.engine.connect() as conn:
            rows = conn.execute(select(Item.dedupe_key, Item.id).where(Item.dedupe_key.in_(keys)))
            ids = {key: item_id for key, item_id in rows}
        return [ids[k] for k in keys]

    def item(self, text: str = "", source_id: int | None = None) -> int:
        source_id = source_id or self.source()
        return self.items(source_id, [clean_item(uuid.uuid4().hex[:12], text=text)])[0]

    def topic_items(self, prefix: str, now: datetime | None = None) -> list[int]:
        """Eight items on four topics (octopus, compilers, gardens, sailing), two each: enough
        text for a ranking model to tell them apart."""
        return self.items(
            self.source(),
            [
                clean_item(f"{prefix}{n}", title=f"{topic} {n}", text=f"{topic} words here " * 5)
                for n, topic in enumerate(("octopus", "compilers", "gardens", "sailing") * 2)
            ],
            now=now or datetime.now(UTC),
        )

    def gem(self, curator: Actor, item_id: int | None = None) -> int:
        item_id = item_id or self.item()
        return self.gem_store.create(item_id=item_id, curator_id=curator.id, note="read this").id

    def close(self) -> None:
        self.client.close()
        self.app.state.domain.close()
        self.engine.dispose()


@contextmanager
def open_api(database_url: str, **overrides: object) -> Iterator[Api]:
    api = Api(database_url, **overrides)
    try:
        yield api
    finally:
        api.close()
