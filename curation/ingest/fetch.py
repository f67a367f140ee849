"""Fetching: the one outbound HTTP client for every server-side request.

Returns bytes plus HTTP facts (:class:`~curation.ingest.records.FetchResult`); it never parses.
What it guarantees:

- conditional GET with ``If-None-Match`` / ``If-Modified-Since``;
- redirects followed by hand (at most ``fetch_max_redirects``), each hop re-checked; when every
  hop was permanent (301/308) the result names the new URL so the source can be updated;
- time limits, each reported by name when it fires: connecting (``fetch_connect_timeout``), the
  response headers in full from the moment the request is sent (``fetch_headers_timeout``, so a
  server trickling its headers a byte at a time cannot hold a slot), silence between two reads
  (``fetch_read_timeout``), and one deadline over the whole fetch, redirects, headers and body
  included (``fetch_total_timeout``);
- ``Retry-After`` of a 429 or 503 read in both forms (seconds, HTTP date) for the scheduler;
- a body cap counted after decompression;
- the SSRF guard: every URL (including IP literals in any spelling) is checked before the
  request, and every address a name resolves to is checked by the resolver the connection
  actually uses, so a name cannot resolve to an internal address between check and connect;
- bounded concurrency overall and per host.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from curation.errors import AddressRefused, FetchError
from curation.ingest.netpolicy import AddressPolicy, normalise_ip
from curation.ingest.records import FetchResult
from curation.ingest.schedule import RETRY_AFTER_STATUSES, retry_after
from curation.settings import Settings

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}


class _Refused(OSError):
    """Carries an AddressRefused through aiohttp's resolver plumbing."""

    def __init__(self, refused: AddressRefused) -> None:
        super().__init__(refused.detail)
        self.refused = refused


class GuardedResolver(AbstractResolver):
    """Resolves with the system resolver, then refuses the whole answer if any address is
    outside the policy (a name that mixes public and internal addresses is refused)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, family=family, flags=socket.AI_ADDRCONFIG
        )
        results: list[ResolveResult] = []
        for fam, _, proto, _, sockaddr in infos:
            address = str(sockaddr[0]).split("%", 1)[0]
            try:
                self._policy.check_ip(address, host=host)
            except AddressRefused as exc:
                raise _Refused(exc) from None
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=int(sockaddr[1]),
                    family=fam,
                    proto=proto,
                    flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                )
            )
        if not results:
            raise OSError(f"no address found for {host}")
        return results

    async def close(self) -> None:
        return None


def _find_refusal(exc: BaseException) -> AddressRefused | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, _Refused):
            return current.refused
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, _Refused):
            return os_error.refused
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _mib(n: int) -> str:
    return f"{n / 1048576:g} MiB"


class _Watch:
    """Where one fetch stands (connecting, waiting for headers, reading the body), so that a
    time-out names the limit that fired; it also starts the headers deadline once the request
    is sent (an aiohttp trace hook), so waiting for a connection does not count against it."""

    __slots__ = ("phase", "settings", "timer")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.phase = "connect"
        self.timer: asyncio.Timeout | None = None

    def request_sent(self) -> None:
        self.phase = "headers"
        if self.timer is not None:
            loop = asyncio.get_running_loop()
            self.timer.reschedule(loop.time() + self.settings.fetch_headers_timeout)

    def describe(self, exc: BaseException) -> str:
        """The message of a time-out: the limit that fired, with its value."""
        s = self.settings
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return f"could not connect within {s.fetch_connect_timeout:g} s"
        if isinstance(exc, aiohttp.SocketTimeoutError):
            waiting = "the headers" if self.phase != "body" else "the body"
            return f"nothing received for {s.fetch_read_timeout:g} s while waiting for {waiting}"
        total = f"{s.fetch_total_timeout:g} s"
        if self.phase == "body":
            return f"body not complete within {total} (the limit for a whole fetch)"
        if self.phase == "headers":
            return f"headers not received within {total} (the limit for a whole fetch)"
        return f"could not connect within {total} (the limit for a whole fetch)"


async def _on_request_sent(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: object
) -> None:
    watch = context.trace_request_ctx
    if isinstance(watch, _Watch):
        watch.request_sent()


class Fetcher:
    """An async context manager holding one connection pool for a batch of fetches."""

    def __init__(self, settings: Settings, policy: AddressPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or AddressPolicy.from_setting(settings.fetch_allow_hosts)
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(settings.fetch_concurrency)

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        trace = aiohttp.TraceConfig()
        trace.on_request_headers_sent.append(_on_request_sent)
        connector = aiohttp.TCPConnector(
            limit=s.fetch_concurrency,
            limit_per_host=s.fetch_per_host,
            resolver=GuardedResolver(self.policy),
            ttl_dns_cache=60,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": s.fetch_user_agent, "Accept": ACCEPT},
            # the whole fetch's deadline is fetch()'s, over every redirect hop
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=s.fetch_connect_timeout,
                sock_read=s.fetch_read_timeout,
            ),
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trace_configs=[trace],
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url`` once; every failure is returned as data, never raised."""
        started = time.perf_counter()
        async with self._slots:
            watch = _Watch(self.settings)
            try:
                async with asyncio.timeout(self.settings.fetch_total_timeout):
                    result = await self._fetch(url, etag, last_modified, watch)
            except FetchError as exc:
                result = FetchResult(
                    url=url, status=0, error=exc.detail, permanent_error=exc.permanent
                )
            except TimeoutError as exc:  # aiohttp's connect/read limits, or the whole fetch's
                result = FetchResult(url=url, status=0, error=f"timed out: {watch.describe(exc)}")
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                refused = _find_refusal(exc)
                if refused is not None:
                    result = FetchResult(
                        url=url, status=0, error=refused.detail, permanent_error=True
                    )
                else:
                    result = FetchResult(url=url, status=0, error=_describe(exc))
        return _with_elapsed(result, time.perf_counter() - started)

    async def _fetch(
        self, url: str, etag: str | None, last_modified: str | None, watch: _Watch
    ) -> FetchResult:
        assert self._session is not None, "use Fetcher as an async context manager"
        s = self.settings
        current = url
        permanent = True
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _hop in range(s.fetch_max_redirects + 1):
            self.policy.check_url(current)
            watch.phase = "connect"
            try:
                async with asyncio.timeout(None) as timer:  # set when the request is sent
                    watch.timer = timer
                    response = await self._session.get(
                        _canonical_host(current),
                        headers=headers,
                        allow_redirects=False,
                        trace_request_ctx=watch,
                    )
            except TimeoutError as exc:
                if timer.expired():
                    limit = s.fetch_headers_timeout
                    raise FetchError(f"timed out: headers not received within {limit:g} s") from exc
                raise
            finally:
                watch.timer = None
            watch.phase = "body"
            async with response as resp:
                if resp.status in REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise FetchError(f"HTTP {resp.status} redirect without a Location")
                    permanent = permanent and resp.status in PERMANENT
                    current = urljoin(current, location)
                    continue
                final = current if current != url else None
                common: dict[str, Any] = {
                    "url": url,
                    "status": resp.status,
                    "final_url": final,
                    "permanent_url": final if (final and permanent) else None,
                }
                if resp.status == 304:
                    return FetchResult(**common, etag=etag, last_modified=last_modified)
                if resp.status != 200:
                    error = f"HTTP {resp.status} {resp.reason or ''}".strip()
                    wait = None
                    if resp.status in RETRY_AFTER_STATUSES:
                        wait = retry_after(resp.headers.get("Retry-After"), datetime.now(UTC))
                        if wait is not None:
                            error += f" (the server asks to wait {wait:.0f} s)"
                    return FetchResult(
                        **common,
                        error=error,
                        permanent_error=resp.status == 410,
                        retry_after=wait,
                    )
                body = await self._read_capped(resp)
                return FetchResult(
                    **common,
                    body=body,
                    content_type=resp.headers.get("Content-Type"),
                    etag=resp.headers.get("ETag"),
                    last_modified=resp.headers.get("Last-Modified"),
                )
        raise FetchError(f"too many redirects (more than {s.fetch_max_redirects})")

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.settings.fetch_max_bytes
        declared = resp.headers.get("Content-Length", "")
        plain = not resp.headers.get("Content-Encoding")
        if plain and declared.isdigit() and int(declared) > cap:
            raise FetchError(f"body of {declared} bytes exceeds the {_mib(cap)} limit")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > cap:
                raise FetchError(f"body exceeds the {_mib(cap)} limit (after decompression)")
            chunks.append(chunk)
        return b"".join(chunks)


def _canonical_host(url: str) -> str:
    """Spell an IP-literal host canonically (``2130706433`` → ``127.0.0.1``), as resolvers would."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    ip = normalise_ip(host)
    if ip is None or str(ip) == host:
        return url
    netloc = f"[{ip}]" if ip.version == 6 else str(ip)
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _with_elapsed(result: FetchResult, elapsed: float) -> FetchResult:
    from dataclasses import replace

    return replace(result, elapsed=elapsed)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"could not connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body ({exc})"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad HTTP response: {exc.message}"
    return f"{type(exc).__name__}: {exc}"
