"""The outbound client against a real local HTTP server: validators, redirects, limits, SSRF."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from curation.ingest.fetch import Fetcher
from curation.ingest.records import FetchResult
from curation.settings import Settings
from tests.helpers.feeds import rss
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import make_settings

BODY = rss("T", [{"title": "a", "link": "https://example.org/a", "guid": "a"}])


def fetch(settings: Settings, url: str, **kw: str | None) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings) as f:
            return await f.fetch(url, **kw)

    return asyncio.run(go())


def test_200_returns_body_and_validators(feed_server: FeedServer, settings: Settings) -> None:
    url = feed_server.add(
        "/f", body=BODY, etag='"v1"', last_modified="Sun, 01 Nov 2026 00:00:00 GMT"
    )
    r = fetch(settings, url)
    assert r.status == 200 and r.body == BODY and r.error is None
    assert r.etag == '"v1"' and r.last_modified == "Sun, 01 Nov 2026 00:00:00 GMT"
    seen = feed_server.hits("/f")[0].headers
    assert "curation" in seen["User-Agent"]
    assert "application/rss+xml" in seen["Accept"]


def test_conditional_get_gets_304_without_body(feed_server: FeedServer, settings: Settings) -> None:
    url = feed_server.add("/f", body=BODY, etag='"v1"')
    r = fetch(settings, url, etag='"v1"')
    assert r.status == 304 and r.body is None and r.error is None
    assert feed_server.hits("/f")[0].headers["If-None-Match"] == '"v1"'


def test_if_modified_since_is_sent(feed_server: FeedServer, settings: Settings) -> None:
    lm = "Sun, 01 Nov 2026 00:00:00 GMT"
    url = feed_server.add("/f", body=BODY, last_modified=lm)
    assert fetch(settings, url, last_modified=lm).status == 304


def test_gzip_body_is_decompressed(feed_server: FeedServer, settings: Settings) -> None:
    url = feed_server.add("/f", body=BODY, gzip=True)
    assert fetch(settings, url).body == BODY


def test_body_cap_counts_decompressed_bytes(feed_server: FeedServer, sqlite_url: str) -> None:
    bomb = b"<rss>" + b" " * (8 * 1024 * 1024)  # 8 MiB of spaces gzips to ~8 KiB
    assert len(gzip.compress(bomb)) < 100_000
    url = feed_server.add("/bomb", body=bomb, gzip=True)
    s = make_settings(sqlite_url, fetch_max_bytes=1024 * 1024)
    r = fetch(s, url)
    assert r.body is None and r.error and "limit" in r.error


def test_permanent_redirect_reports_new_url(feed_server: FeedServer, settings: Settings) -> None:
    new = feed_server.add("/new", body=BODY)
    old = feed_server.add("/old", status=301, location="/new")
    r = fetch(settings, old)
    assert r.status == 200 and r.body == BODY
    assert r.final_url == new and r.permanent_url == new


def test_temporary_redirect_keeps_url(feed_server: FeedServer, settings: Settings) -> None:
    feed_server.add("/new", body=BODY)
    a = feed_server.add("/a", status=301, location="/b")
    feed_server.add("/b", status=302, location="/new")
    r = fetch(settings, a)
    assert r.status == 200 and r.final_url == feed_server.url("/new")
    assert r.permanent_url is None  # one hop was temporary


def test_redirect_loop_is_capped(feed_server: FeedServer, settings: Settings) -> None:
    url = feed_server.add("/loop", status=302, location="/loop")
    r = fetch(settings, url)
    assert r.status == 0 and "too many redirects" in (r.error or "")
    assert len(feed_server.hits("/loop")) == settings.fetch_max_redirects + 1


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_errors_are_data(feed_server: FeedServer, settings: Settings, status: int) -> None:
    url = feed_server.add("/e", status=status, body=b"no")
    r = fetch(settings, url)
    assert r.status == status and r.body is None and str(status) in (r.error or "")
    assert not r.permanent_error


def test_410_is_permanent(feed_server: FeedServer, settings: Settings) -> None:
    r = fetch(settings, feed_server.add("/gone", status=410))
    assert r.status == 410 and r.permanent_error


def test_slow_headers_hit_the_total_limit(feed_server: FeedServer, sqlite_url: str) -> None:
    s = make_settings(sqlite_url, fetch_total_timeout=0.5, fetch_read_timeout=5.0)
    r = fetch(s, feed_server.add("/slow", body=BODY, delay=2.0))
    assert r.status == 0 and "timed out" in (r.error or "")


def test_slow_drip_body_hits_the_total_limit(feed_server: FeedServer, sqlite_url: str) -> None:
    # every chunk arrives within the read limit, but the whole body would take ~3 s
    s = make_settings(sqlite_url, fetch_total_timeout=0.7, fetch_read_timeout=5.0)
    r = fetch(s, feed_server.add("/drip", body=b"x" * 64 * 30, drip=0.1))
    assert r.status == 0 and "timed out" in (r.error or "")


def test_connection_refused_is_data(sqlite_url: str) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    r = fetch(make_settings(sqlite_url), f"http://127.0.0.1:{port}/")
    assert r.status == 0 and r.error and "connect" in r.error


# ---- SSRF guard at connect time, with loopback targets only ----------------------------------


@pytest.fixture
def guarded(sqlite_url: str) -> Settings:
    """Settings with no allow list: loopback is refused like any internal address."""
    return make_settings(sqlite_url, fetch_allow_hosts="")


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/f",
        "http://2130706433:{port}/f",
        "http://0177.0.0.1:{port}/f",
        "http://0x7f.1:{port}/f",
        "http://127.1:{port}/f",
        "http://[::ffff:127.0.0.1]:{port}/f",
        "http://localhost:{port}/f",
    ],
)
def test_internal_targets_are_refused(
    feed_server: FeedServer, guarded: Settings, template: str
) -> None:
    feed_server.add("/f", body=BODY)
    r = fetch(guarded, template.format(port=feed_server.port))
    assert r.status == 0 and r.body is None
    assert r.permanent_error and "refused" in (r.error or "").lower()
    assert feed_server.hits("/f") == []  # nothing reached the server


def test_name_resolving_to_loopback_is_refused_at_connect(
    feed_server: FeedServer, guarded: Settings
) -> None:
    # a name (not a literal) that the system resolver maps to 127.0.0.1: checked at connect time
    feed_server.add("/f", body=BODY)
    r = fetch(guarded, f"http://localhost.:{feed_server.port}/f")
    assert r.status == 0 and r.permanent_error and feed_server.hits("/f") == []


def test_redirect_to_internal_address_is_refused(feed_server: FeedServer, sqlite_url: str) -> None:
    # the allow list admits the first host by name only; the redirect goes to a literal address
    other = FeedServer().start()
    try:
        other.add("/secret", body=b"internal")
        s = make_settings(sqlite_url, fetch_allow_hosts="localhost")
        feed_server.add("/r", status=302, location=f"http://127.0.0.1:{other.port}/secret")
        r = fetch(s, f"http://localhost:{feed_server.port}/r")
        assert len(feed_server.hits("/r")) == 1  # the allowed host was reached
        assert r.status == 0 and r.permanent_error and "refused" in (r.error or "").lower()
        assert other.hits("/secret") == []
    finally:
        other.stop()


def test_allow_list_admits_decimal_and_mapped_forms(
    feed_server: FeedServer, settings: Settings
) -> None:
    feed_server.add("/f", body=BODY)
    for url in (
        f"http://2130706433:{feed_server.port}/f",
        f"http://[::ffff:127.0.0.1]:{feed_server.port}/f",
    ):
        r = fetch(settings, url)
        assert r.status == 200 and r.body == BODY, (url, r.error)


def test_resolver_refuses_names_that_resolve_internally() -> None:
    """The connect-time check itself: the resolver aiohttp connects through refuses loopback."""
    from curation.ingest.fetch import GuardedResolver, _Refused
    from curation.ingest.netpolicy import AddressPolicy

    async def resolve(policy: AddressPolicy) -> list:
        return await GuardedResolver(policy).resolve("localhost", 80)

    with pytest.raises(_Refused, match="refused"):
        asyncio.run(resolve(AddressPolicy.from_setting("")))
    allowed = asyncio.run(resolve(AddressPolicy.from_setting("localhost")))
    assert {r["host"] for r in allowed} <= {"127.0.0.1", "::1"} and allowed
