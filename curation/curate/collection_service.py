"""Collections as the API and the web pages use them: :class:`CollectionService`.

Collections belong to the curators' team: any curator may create one, add or remove gems and
rotate its token (like a shared board); the public feeds need no authentication, only the
token. Names and limits are :mod:`curation.curate.collections`' rules; the feed documents are
:mod:`curation.curate.feeds`'; the SQL is :mod:`curation.storage.collections`'.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache

from curation.clock import utcnow
from curation.curate import feeds
from curation.curate.collections import (
    clean_description,
    clean_name,
    feed_urls,
    is_token_shaped,
    new_token,
)
from curation.errors import NotFound
from curation.records import Choice
from curation.storage.collections import CollectionRow, CollectionStore, GemChoice
from curation.storage.gems import GemRecord

FEED_CACHE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class CollectionRecord:
    id: int
    name: str
    description: str
    feed_url: str  # Atom
    json_feed_url: str
    gems: tuple[GemRecord, ...]  # in the collection's order (empty in lists: see gem_count)
    gem_count: int
    curator_id: int | None
    created_at: datetime
    updated_at: datetime


class CollectionService:
    def __init__(self, store: CollectionStore, base_url: str) -> None:
        self.store = store
        self.base_url = base_url
        # rendered feeds by (format, collection, token, updated_at, gem count): adding a gem
        # touches updated_at, removing one (or deleting the gem) changes the count, rotating
        # changes the token; the token is still looked up on every request (an old one is a
        # 404 at once, in every process). Kept 5 minutes at most, for what else may change (an
        # item's title, a curator's name).
        self._feeds: TTLCache = TTLCache(maxsize=128, ttl=FEED_CACHE_SECONDS)
        self._lock = threading.Lock()

    def create(self, name: str, description: str, curator_id: int | None) -> CollectionRecord:
        row = self.store.create(
            name=clean_name(name),
            description=clean_description(description),
            curator_id=curator_id,
            token=new_token(),
            now=utcnow(),
        )
        return self._record(row, ())

    def list(self) -> list[CollectionRecord]:
        """Every collection, newest first, without its gems (``gem_count`` says how many)."""
        return [self._record(row, ()) for row in self.store.list()]

    def choices(self) -> list[Choice]:
        """Every collection's id and name, newest first: what a list of choices shows (no gem
        counts, no feed URLs)."""
        return self.store.choices()

    def get(self, collection_id: int) -> CollectionRecord:
        row = self.store.get(collection_id)
        return self._record(row, tuple(self.store.gems(collection_id)))

    def candidates(self, collection_id: int, limit: int = 100) -> list[GemChoice]:
        """The newest ``limit`` gems not in the collection: what its page offers to add."""
        return self.store.candidates(collection_id, limit)

    def add_gem(
        self, collection_id: int, gem_id: int, position: int | None = None
    ) -> CollectionRecord:
        """Add a gem at the end, or at ``position`` (1 is first)."""
        now = utcnow()
        self.store.add_gem(collection_id, gem_id, now=now)
        if position is not None:
            self.store.move_gem(collection_id, gem_id, position, now=now)
        return self.get(collection_id)

    def move_gem(self, collection_id: int, gem_id: int, position: int) -> CollectionRecord:
        """Move a gem of the collection to ``position`` (1 is first; past the end: last)."""
        self.store.move_gem(collection_id, gem_id, position, now=utcnow())
        return self.get(collection_id)

    def remove_gem(self, collection_id: int, gem_id: int) -> CollectionRecord:
        self.store.remove_gem(collection_id, gem_id, now=utcnow())
        return self.get(collection_id)

    def rotate_token(self, collection_id: int) -> CollectionRecord:
        """A new public token: the old feed URLs answer 404 from now on."""
        self.store.set_token(collection_id, new_token(), now=utcnow())
        return self.get(collection_id)

    def delete(self, collection_id: int) -> None:
        self.store.delete(collection_id)

    # ---- the public feeds --------------------------------------------------------------------

    def atom(self, token: str) -> bytes:
        return self._published(token, feeds.atom)

    def json_feed(self, token: str) -> bytes:
        return self._published(token, feeds.json_feed)

    def _published(
        self, token: str, write: Callable[[feeds.FeedSpec, Sequence[GemRecord]], bytes]
    ) -> bytes:
        row = self.store.by_token(token) if is_token_shaped(token) else None
        if row is None:  # says nothing about whether a collection ever had this token
            raise NotFound("no such feed")
        key = (write.__name__, row.id, row.token, row.updated_at, row.gem_count)
        with self._lock:
            found = self._feeds.get(key)
        if found is None:
            found = write(self._spec(row), self.store.gems(row.id))
            with self._lock:
                self._feeds[key] = found
        return found

    def _spec(self, row: CollectionRow) -> feeds.FeedSpec:
        atom_url, json_url = feed_urls(self.base_url, row.token)
        return feeds.FeedSpec(
            collection_id=row.id,
            name=row.name,
            description=row.description,
            updated_at=row.updated_at,
            base_url=self.base_url,
            atom_url=atom_url,
            json_url=json_url,
        )

    def _record(self, row: CollectionRow, gems: tuple[GemRecord, ...]) -> CollectionRecord:
        atom_url, json_url = feed_urls(self.base_url, row.token)
        return CollectionRecord(
            id=row.id,
            name=row.name,
            description=row.description,
            feed_url=atom_url,
            json_feed_url=json_url,
            gems=gems,
            gem_count=row.gem_count,
            curator_id=row.curator_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
