"""API keys: random tokens shown once, stored as SHA-256 digests, and a memory of who holds
which key, kept while nothing changes (so a busy client costs no query per call)."""

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


#: the longest an entry is kept even when no change mark moved (a change made behind the
#: service's back, e.g. by hand in SQL, is seen within this)
LONGEST_KEPT = 600.0


class KeyCache:
    """Who holds which API key (keyed by the key's digest), remembered while nothing changed.

    A :class:`cachetools.TTLCache` (least recently used entries go first when full, none kept
    longer than :data:`LONGEST_KEPT`) behind a lock. Each entry carries the ``people`` change
    mark (:mod:`curation.storage.marks`) read before the lookup that made it, and is answered
    only while that is the mark last read, and that read is less than ``check`` seconds old;
    :meth:`refresh` reads it again (one small query for every key, instead of one per key). So a
    change made by another process (the CLI, another API worker) is seen within ``check``
    seconds, and a busy client costs no query however long it keeps its key. The store that owns
    the cache also calls :meth:`clear` on each change it makes, seen at once in its process.
    Unknown keys are never remembered. A lookup that began before a change (``generation``, or
    an older mark: see :meth:`stamp`) must not store what it read. Web sessions share it
    (:mod:`curation.people.signin`: their entries are keyed ``session:<digest>`` and hold the
    person with the session's expiry).
    """

    def __init__(
        self,
        check: float,
        *,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        longest: float = LONGEST_KEPT,
    ) -> None:
        self.check = check
        self._clock = clock
        self._entries: TTLCache[str, tuple[int, Any]] = TTLCache(
            size, max(longest, check), timer=clock
        )
        self._lock = threading.Lock()
        self.generation = 0
        self._mark: int | None = None  # the people mark last read
        self._checked = float("-inf")  # when that read began

    def fresh(self) -> bool:
        """Whether the mark was read less than ``check`` seconds ago (entries may answer)."""
        with self._lock:
            return self._mark is not None and self._clock() - self._checked < self.check

    def refresh(self, read_mark: Callable[[], int]) -> None:
        """Read the mark with ``read_mark`` unless it is fresh; when it moved, forget all."""
        if self.fresh():
            return
        began = self._clock()
        mark = read_mark()
        with self._lock:
            if self._mark is not None and mark < self._mark:
                return  # an older read finishing late: marks only grow
            if mark != self._mark:
                self._entries.clear()
            self._mark = mark
            self._checked = max(self._checked, began)

    def stamp(self) -> tuple[int, int | None]:
        """Taken before a lookup, given back to :meth:`put`: (generation, mark)."""
        with self._lock:
            return self.generation, self._mark

    def get(self, digest: str) -> Any:  # a PersonRecord for an API key
        with self._lock:
            if self._mark is None or self._clock() - self._checked >= self.check:
                return None
            found = self._entries.get(digest)
            if found is None or found[0] != self._mark:
                return None
            return found[1]

    def put(self, digest: str, person: Any, *, stamp: tuple[int, int | None]) -> None:
        generation, mark = stamp
        with self._lock:
            if generation == self.generation and mark is not None and mark == self._mark:
                self._entries[digest] = (mark, person)

    def clear(self) -> None:
        """Forget everything, and read the mark again before remembering anything (the change
        that called this moved it: what is looked up next is stamped with the new value)."""
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._checked = float("-inf")

    def __len__(self) -> int:
        with self._lock:
            self._entries.expire()
            return len(self._entries)
