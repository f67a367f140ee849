"""API keys: random tokens shown once, stored as SHA-256 digests, and a short-lived memory of
who holds which key (so a busy client costs no query per call)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache

KEY_PREFIX = "cur_"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeyCache:
    """Who holds which API key, remembered for ``ttl`` seconds (keyed by the key's digest).

    A :class:`cachetools.TTLCache` (least recently used entries go first when full) behind a
    lock. The store that owns it calls :meth:`clear` on each change it makes (role, key,
    deletion, interests…), so in one process a change is seen at once; a change made by another
    process (the CLI, another API worker) is seen within ``ttl``. Unknown keys are never
    remembered. ``generation`` is bumped by :meth:`clear`: a lookup that began before a change
    must not store what it read. Web sessions share it (:mod:`curation.people.signin`: their
    entries are keyed ``session:<digest>`` and hold the person with the session's expiry).
    """

    def __init__(
        self, ttl: float, *, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._entries: TTLCache[str, Any] = TTLCache(size, ttl, timer=clock)
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, digest: str) -> Any:  # a PersonRecord for an API key
        with self._lock:
            return self._entries.get(digest)

    def put(self, digest: str, person: Any, *, generation: int) -> None:
        with self._lock:
            if generation == self.generation:
                self._entries[digest] = person

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            self._entries.expire()
            return len(self._entries)
