"""Per-app caches of answers (kept on ``app.state``, never module globals)."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from cachetools import LRUCache


class RecordedDigests:
    """Serialised digests by (person, person's creation time, local date).

    A recorded digest never changes, so its JSON can be answered from memory; the creation time
    tells a new person apart from a deleted one. Least recently used entries go first. Each API
    process keeps its own, and needs no invalidation across processes: only final digests
    (recorded, with items) are kept, and those are the same in every process.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._bodies: LRUCache[tuple[int, str, str], bytes] = LRUCache(size)
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str, str]) -> bytes | None:
        with self._lock:
            return self._bodies.get(key)

    def put(self, key: tuple[int, str, str], body: bytes) -> None:
        with self._lock:
            self._bodies[key] = body


@dataclass(frozen=True, slots=True)
class LiveAnswer:
    body: bytes
    etag: str  # a strong validator: the same bytes, the same tag
    version: tuple | None
    made: float  # monotonic time it was built


class LiveAnswers:
    """Serialised live recommendation pages by (person record, limit, since).

    An answer is reused while the ranking's version (model, new items and gems, the person's
    feedback: :meth:`~curation.rank.recommender.Recommender.live_version`) is the one it was
    built at and it is younger than ``max_age`` seconds (the default window moves with the
    clock). The person record is part of the key, so a change of interests, mutes or role
    misses. Least recently used entries go first.

    An answer of the right version that is older than ``max_age`` but younger than twice it is
    :meth:`stale`: served while one request builds the next in the background
    (:meth:`start_refresh`), so answers built together (after a new model, say) do not all
    make their requests wait when they age out together.
    """

    def __init__(self, max_age: float, size: int = 10_000) -> None:
        self.max_age = max_age
        self._answers: LRUCache[tuple, LiveAnswer] = LRUCache(size)
        self._lock = threading.Lock()
        self._refreshing: set[tuple] = set()
        self.tasks: set = set()  # the background refreshes running (kept from collection)

    def get(self, key: tuple, version: tuple | None) -> LiveAnswer | None:
        if version is None:
            return None
        with self._lock:
            found = self._answers.get(key)
        if (
            found is None
            or found.version != version
            or time.monotonic() - found.made >= self.max_age
        ):
            return None
        return found

    def stale(self, key: tuple, version: tuple | None) -> LiveAnswer | None:
        """The answer of ``version`` that aged past ``max_age``, while younger than twice it."""
        if version is None:
            return None
        with self._lock:
            found = self._answers.get(key)
        if found is None or found.version != version:
            return None
        age = time.monotonic() - found.made
        return found if self.max_age <= age < 2 * self.max_age else None

    def start_refresh(self, key: tuple) -> bool:
        """Whether the caller is the one to build ``key`` again (False: one is building it)."""
        with self._lock:
            if key in self._refreshing:
                return False
            self._refreshing.add(key)
            return True

    def end_refresh(self, key: tuple) -> None:
        with self._lock:
            self._refreshing.discard(key)

    def put(self, key: tuple, version: tuple | None, body: bytes, made: float) -> LiveAnswer:
        """Keep ``body`` (built from what was read at ``made``) unless nothing was ranked."""
        answer = LiveAnswer(body, etag_of(body), version, made)
        if version is not None and self.max_age > 0:
            with self._lock:
                self._answers[key] = answer
        return answer


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
