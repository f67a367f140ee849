"""Per-app caches of answers (kept on ``app.state``, never module globals)."""

from __future__ import annotations

import threading

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
