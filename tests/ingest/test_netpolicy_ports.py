"""The port rule of the address policy (issue 17, class 3): 80, 443 and 1024–65535 except
well-known service ports; the allow list opens more. Applied wherever the address policy is:
adding a source, every fetch, every redirect hop (checked here against a real local server)."""

from __future__ import annotations

import asyncio

import pytest

from curation.errors import AddressRefused, InvalidInput
from curation.ingest.fetch import Fetcher
from curation.ingest.netpolicy import ALLOWED_LOW_PORTS, REFUSED_PORTS, AddressPolicy
from curation.ingest.sources import SourceService
from curation.settings import Settings
from curation.storage.feeds import Store
from tests.helpers.feedserver import FeedServer

STRICT = AddressPolicy()
PUBLIC = "93.184.216.34"  # judged without connecting: check_url never opens a socket


@pytest.mark.parametrize(
    "port", [22, 23, 25, 110, 143, 445, 3306, 5432, 6379, 11211, 27017, 9200, 2375, 1, 1023]
)
def test_service_ports_are_refused(port: int) -> None:
    for url in (f"http://{PUBLIC}:{port}/feed", f"https://example.com:{port}/feed"):
        with pytest.raises(AddressRefused, match=f"port {port} "):
            STRICT.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/feed",
        "https://example.com/feed",
        "http://example.com:80/feed",
        "https://example.com:443/feed",
        "http://example.com:8080/feed",
        "https://example.com:8443/feed",
        "http://example.com:1024/",
        "http://example.com:65535/",
        f"http://{PUBLIC}:40000/",  # the range local servers get: never refused
    ],
)
def test_web_ports_are_allowed(url: str) -> None:
    STRICT.check_url(url)


def test_refused_ports_avoid_the_ephemeral_range() -> None:
    assert not [p for p in REFUSED_PORTS if 32768 <= p <= 60999]
    assert all(1024 <= p <= 65535 for p in REFUSED_PORTS) and {80, 443} == ALLOWED_LOW_PORTS


def test_the_allow_list_opens_ports() -> None:
    policy = AddressPolicy.from_setting(":22, :6379")
    policy.check_url("http://example.com:22/feed")
    policy.check_url(f"http://{PUBLIC}:6379/feed")
    with pytest.raises(AddressRefused, match="add :25 to CURATION_FETCH_ALLOW_HOSTS"):
        policy.check_url("http://example.com:25/feed")
    # a host the operator vouches for may be reached on any port
    vouched = AddressPolicy.from_setting("127.0.0.1,feeds.example.net")
    vouched.check_url("http://127.0.0.1:22/feed")
    vouched.check_url("http://feeds.example.net:5432/feed")
    with pytest.raises(AddressRefused, match="port 5432"):
        vouched.check_url("http://other.example.net:5432/feed")


@pytest.mark.parametrize("entry", [":0", ":65536", ":ssh", ":", ":-1"])
def test_bad_port_entries_are_refused(entry: str) -> None:
    with pytest.raises(InvalidInput, match="not a port"):
        AddressPolicy.from_setting(entry)


def test_adding_a_source_on_a_service_port_is_refused(store: Store, settings: Settings) -> None:
    service = SourceService(store, AddressPolicy(), settings)
    with pytest.raises(AddressRefused, match="port 22"):
        service.add(f"http://{PUBLIC}:22/feed", check=False)
    assert store.list_sources() == []


def test_a_redirect_to_a_service_port_is_refused(
    feed_server: FeedServer, settings: Settings
) -> None:
    """The local server is allowed by address (its loopback host is allow-listed); the hop to
    a public host's port 22 is judged by the port rule before any connection is made."""
    feed_server.add("/moved", status=302, location=f"http://{PUBLIC}:22/feed")
    policy = AddressPolicy.from_setting("127.0.0.1")

    async def fetch() -> object:
        async with Fetcher(settings, policy) as fetcher:
            return await fetcher.fetch(feed_server.url("/moved"))

    result = asyncio.run(fetch())
    assert result.status == 0 and "port 22" in (result.error or "")  # type: ignore[attr-defined]
    assert result.permanent_error  # type: ignore[attr-defined]
