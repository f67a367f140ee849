"""Rate limits of the HTTP API, on the ``limits`` library (moving windows of one minute).

Five limits, each ``CURATION_RATE_LIMIT_*`` requests per minute (0 turns that one off):

- ``PER_ADDRESS``: every request from one client address (``/healthz`` and ``/metrics`` exempt),
  checked first, by :class:`app.middleware.AddressRateLimit`;
- ``AUTH_FAILURES``: missing or wrong API keys from one address. Once used up, *no* key from that
  address is checked until the window has room again (a right guess must look like a wrong
  one), so guessing keys at any speed gets that many tries a minute;
- ``PER_KEY``: requests made with one API key, from wherever;
- ``SUBMISSIONS``: new sources (``POST /v1/sources``, ``/v1/sources/import``), per key and per
  address.
- ``SIGN_IN``: sign-in attempts (``POST /v1/auth/email-link``, the web sign-in forms), per
  address and per e-mail address.

A client address is the peer's (:func:`client_address`), an IPv6 one by its /64. A refused
request is a :class:`~curation.errors.RateLimited` (429 with ``Retry-After``).
Counters live in ``CURATION_RATE_LIMIT_STORAGE``: ``memory://`` counts per process; several API
processes share their counts only through a shared store (``redis://host:6379``, which needs the
``redis`` package). API keys are counted by a digest, never stored as given.

``memory://`` is :class:`limits.storage.MemoryStorage` less its clean-up thread: that storage
starts a new thread (a ``threading.Timer``) on nearly every hit to drop expired entries, which
under load cost more than the rest of a request; here expired entries are dropped in line, at
most once a second (:class:`_InlineMemoryStorage`). Whether a request is allowed never depended
on that clean-up: the windows are checked against the clock on each hit.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from curation.errors import RateLimited
from curation.settings import Settings

#: paths no address limit applies to (health checks and metric scrapes come often, by design)
EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})


@dataclass(frozen=True, slots=True)
class _Limit:
    name: str  # the namespace of its counters
    item: RateLimitItem | None  # None: off
    what: str  # for the message: "requests from this address"


def _limit(name: str, per_minute: int, what: str) -> _Limit:
    return _Limit(name, RateLimitItemPerMinute(per_minute) if per_minute > 0 else None, what)


class _InlineMemoryStorage(MemoryStorage):
    """limits' memory storage, its expired entries dropped in line at most once a second."""

    STORAGE_SCHEME = ["curation-memory"]
    CLEAN_EVERY = 1.0  # seconds

    def __init__(self, uri: str | None = None, **options: str) -> None:
        self._cleaned = time.monotonic()
        super().__init__(uri, **options)
        self.timer.cancel()  # the one started by MemoryStorage.__init__

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the timer thread
        now = time.monotonic()
        if now - self._cleaned >= self.CLEAN_EVERY:
            self._cleaned = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def _storage(url: str) -> Storage:
    if url.startswith("memory://"):
        return _InlineMemoryStorage(url)
    return storage_from_string(url)


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(_storage(settings.rate_limit_storage))
        self.per_address = _limit(
            "address", settings.rate_limit_per_address, "requests from this address"
        )
        self.auth_failures = _limit(
            "auth-failures", settings.rate_limit_auth_failures, "failed authentications"
        )
        self.per_key = _limit("key", settings.rate_limit_per_key, "requests with this API key")
        self.submissions = _limit("submit", settings.rate_limit_submissions, "source submissions")
        self.sign_ins = _limit("sign-in", settings.rate_limit_sign_in, "sign-in attempts")

    # ---- the checks the edge makes --------------------------------------------------------

    def address(self, address: str) -> None:
        self._hit(self.per_address, address)

    def refuse_blocked_address(self, address: str) -> None:
        """Before a key is looked at: refuse when the address has used up its failures."""
        limit = self.auth_failures
        if limit.item is not None and not self._limiter.test(limit.item, limit.name, address):
            raise self._refusal(limit, address)

    def auth_failed(self, address: str) -> None:
        """Count one wrong or missing key from ``address`` (never refuses by itself)."""
        limit = self.auth_failures
        if limit.item is not None:
            self._limiter.hit(limit.item, limit.name, address)

    def key(self, api_key: str) -> None:
        self._hit(self.per_key, _digest(api_key))

    def submission(self, api_key: str, address: str) -> None:
        self._hit(self.submissions, "key:" + _digest(api_key))
        self._hit(self.submissions, "address:" + address)

    def sign_in(self, address: str, email: str | None = None) -> None:
        """One sign-in attempt (a link asked for, an API key tried on the sign-in page): counted
        per address and, when one is given, per e-mail address (``CURATION_RATE_LIMIT_SIGN_IN``)."""
        self._hit(self.sign_ins, "address:" + address)
        if email:
            self._hit(self.sign_ins, "email:" + _digest(email.strip().lower()))

    # ---- mechanics ------------------------------------------------------------------------

    def _hit(self, limit: _Limit, who: str) -> None:
        if limit.item is not None and not self._limiter.hit(limit.item, limit.name, who):
            raise self._refusal(limit, who)

    def _refusal(self, limit: _Limit, who: str) -> RateLimited:
        assert limit.item is not None
        stats = self._limiter.get_window_stats(limit.item, limit.name, who)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimited(
            f"too many {limit.what}: at most {limit.item.amount} a minute; try again in"
            f" {retry_after} s",
            retry_after=retry_after,
        )


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def client_address(scope: dict) -> str:
    """Who is counted for a request: the peer's address as the server saw it (behind a trusted
    proxy, uvicorn has already put the forwarded one here); an IPv6 address by its /64, the
    block one subscriber usually holds whole (one address each would be no limit at all)."""
    client = scope.get("client")
    if not client:
        return "unknown"
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (a test client's name, a Unix socket)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host
