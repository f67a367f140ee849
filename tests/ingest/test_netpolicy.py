"""The SSRF address policy: literal parsing, refused categories, embeddings, allow list, URLs.

Everything here is pure: the autouse fixture makes any DNS lookup or connection fail the test.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from contextlib import AbstractContextManager
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import pytest

from curation.errors import AddressRefused, FetchError, InvalidInput
from curation.ingest.netpolicy import METADATA_ADDRESSES, AddressPolicy, is_public, normalise_ip

STRICT = AddressPolicy()
ALLOW_ALL = AddressPolicy.from_setting("0.0.0.0/0, ::/0")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"):
        monkeypatch.setattr(socket, name, forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)


def refused(match: str) -> AbstractContextManager[pytest.ExceptionInfo[AddressRefused]]:
    return pytest.raises(AddressRefused, match=match)


# --- normalise_ip -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("00000177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F.0x0.0x0.0x1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("1.2.65535", "1.2.255.255"),
        ("1.16777215", "1.255.255.255"),
        ("4294967295", "255.255.255.255"),
        ("0", "0.0.0.0"),
        ("0x.1", "0.0.0.1"),  # glibc: a bare 0x is 0 except in the last part
        (" 8.8.8.8 ", "8.8.8.8"),
        ("2852039166", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("025177524776", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("169.16689662", "169.254.169.254"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("2606:4700::1111", "2606:4700::1111"),
    ],
)
def test_normalise_ip_parses_literals(text: str, expected: str) -> None:
    assert normalise_ip(text) == ip_address(expected)
    assert str(normalise_ip(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.com",
        "localhost",
        "1.2.3.4.5",
        "256.0.0.1",
        "1.256.0.0",
        "1.2.65536",
        "1.16777216",
        "4294967296",
        "08.0.0.1",
        "0x7g.0.0.1",
        "127.0.0.0x",
        "127..0.1",
        "127.0.0.1.",
        "+1.2.3.4",
        "-1.2.3.4",
        "1_0.0.0.1",
        "١٢٧.0.0.1",  # Arabic-Indic digits are not ASCII digits
        "[127.0.0.1]",
        "::ffff:0177.0.0.1",
        "[::1",
        ":::1",
        "1.2.3.4:80",
    ],
)
def test_normalise_ip_rejects_non_literals(text: str) -> None:
    assert normalise_ip(text) is None


# --- refused categories -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "category"),
    [
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared \\(CGNAT\\)"),
        ("100.127.255.255", "shared \\(CGNAT\\)"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("febf::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("fec0::1", "site-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.254", "reserved"),
        ("255.255.255.255", "limited broadcast"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.255", "benchmarking"),
        ("2001:2::1", "benchmarking"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("192.0.0.8", "IETF protocol assignment"),
        ("100::1", "discard-only"),
        ("192.88.99.1", "6to4 relay anycast"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("4000::1", "outside global unicast"),
        ("2001:10::1", "non-global"),
        ("64:ff9b:1:1::5db8:d822", "NAT64 local-use address not in the /96 layout"),
    ],
)
def test_refused_categories(ip: str, category: str) -> None:
    with refused(rf"^refused: {re.escape(ip)} is (a|an) [^,]*{category}"):
        STRICT.check_ip(ip)
    assert is_public(ip) is False


def test_refusal_message_and_error_type() -> None:
    with pytest.raises(AddressRefused) as info:
        STRICT.check_ip("10.0.0.5")
    expected = "refused: 10.0.0.5 is a private address; set CURATION_FETCH_ALLOW_HOSTS=10.0.0.5 to allow it"
    assert str(info.value) == info.value.detail == expected
    assert isinstance(info.value, FetchError)
    assert info.value.permanent is True


@pytest.mark.parametrize(
    "ip",
    [
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "11.0.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "169.253.255.255",
        "192.0.1.255",
        "192.0.3.0",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "2001:db9::1",
        "::ffff:93.184.216.34",
        "::ffff:0:5db8:d822",
        "::93.184.216.34",
        "2002:5db8:d822::1",
        "64:ff9b::93.184.216.34",
        "64:ff9b:1::5db8:d822",
    ],
)
def test_public_addresses_accepted(ip: str) -> None:
    assert STRICT.check_ip(ip) is None
    assert STRICT.check_ip(normalise_ip(ip)) is None  # type: ignore[arg-type]
    assert is_public(ip) is True


def test_is_public_on_objects_and_junk() -> None:
    assert is_public(IPv4Address("93.184.216.34")) is True
    assert is_public(IPv6Address("::1")) is False
    assert is_public("example.com") is False
    assert is_public("169.254.169.254") is False


def test_check_ip_refuses_non_ip_text() -> None:
    with refused("'example.com' is not an IP address"):
        STRICT.check_ip("example.com")


# --- embedded IPv4 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "carried", "form", "category"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1", "IPv4-mapped", "loopback"),
        ("::ffff:10.0.0.5", "10.0.0.5", "IPv4-mapped", "private"),
        ("::ffff:0.0.0.0", "0.0.0.0", "IPv4-mapped", "unspecified"),
        ("::ffff:0:127.0.0.1", "127.0.0.1", "IPv4-translated", "loopback"),
        ("::127.0.0.1", "127.0.0.1", "IPv4-compatible", "loopback"),
        ("::192.168.0.1", "192.168.0.1", "IPv4-compatible", "private"),
        ("2002:7f00:1::", "127.0.0.1", "6to4", "loopback"),
        ("2002:c0a8:101:5::9", "192.168.1.1", "6to4", "private"),
        ("64:ff9b::127.0.0.1", "127.0.0.1", "NAT64", "loopback"),
        ("64:ff9b::a00:5", "10.0.0.5", "NAT64", "private"),
        ("64:ff9b:1::7f00:1", "127.0.0.1", "NAT64 local-use", "loopback"),
    ],
)
def test_embedded_ipv4_is_judged_as_the_ipv4(
    ip: str, carried: str, form: str, category: str
) -> None:
    expected = f"^refused: {re.escape(str(IPv6Address(ip)))} carries {re.escape(carried)} "
    with refused(expected + rf"\({form}\), (a|an) [^,]*{category}"):
        STRICT.check_ip(ip)


# --- cloud metadata -----------------------------------------------------------------------------

METADATA_FORMS = [
    "169.254.169.254",
    "fd00:ec2::254",
    "100.100.100.200",
    "169.254.170.2",
    "192.0.0.192",
    "168.63.129.16",
    "::ffff:169.254.169.254",
    "::ffff:0:169.254.169.254",
    "::169.254.169.254",
    "2002:a9fe:a9fe::",
    "2002:6464:64c8:1::",  # 6to4 for 100.100.100.200
    "64:ff9b::169.254.169.254",
    "64:ff9b:1::a9fe:a9fe",
    "::ffff:192.0.0.192",
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo client 169.254.169.254
    "2001:0:a9fe:a9fe::",  # Teredo server 169.254.169.254
]


@pytest.mark.parametrize(
    "allow",
    ["", "0.0.0.0/0, ::/0", "169.254.0.0/16", "100.64.0.0/10, 192.0.0.0/24, fd00::/8, 2000::/3"],
)
@pytest.mark.parametrize("ip", METADATA_FORMS)
def test_metadata_refused_whatever_the_allow_list(ip: str, allow: str) -> None:
    policy = AddressPolicy.from_setting(allow)
    with refused("cloud metadata address"):
        policy.check_ip(ip)


def test_metadata_refused_even_for_an_allowed_host_name() -> None:
    policy = AddressPolicy.from_setting("metadata.google.internal")
    with refused("169.254.169.254 is a cloud metadata address"):
        policy.check_ip("169.254.169.254", host="metadata.google.internal")
    assert policy.check_url("http://metadata.google.internal/computeMetadata/v1/") is None


def test_metadata_set_is_the_documented_one() -> None:
    assert {str(ip) for ip in METADATA_ADDRESSES} >= {
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "169.254.170.2",
        "192.0.0.192",
    }


def test_zone_id_does_not_dodge_the_checks() -> None:
    policy = AddressPolicy.from_setting("fd00::/8, fe80::/10")
    with refused("cloud metadata"):
        policy.check_ip(IPv6Address("fd00:ec2::254%eth0"))
    assert policy.check_ip(IPv6Address("fe80::1%eth0")) is None
    with refused("link-local"):
        STRICT.check_ip(IPv6Address("fe80::1%eth0"))
    with refused("link-local"):
        STRICT.check_ip("fe80::1%eth0")


def test_teredo_is_refused_by_default_but_can_be_allowed_explicitly() -> None:
    teredo = "2001:0:4136:e378:8000:63bf:3fff:fdd2"
    with refused("Teredo tunnel address \\(refused by default\\)"):
        STRICT.check_ip(teredo)
    assert AddressPolicy.from_setting("2001::/32").check_ip(teredo) is None


# --- allow list ---------------------------------------------------------------------------------


def test_from_setting_parses_ips_cidrs_and_hosts() -> None:
    policy = AddressPolicy.from_setting(
        "  127.0.0.1 ,\t[::1] ,, 10.0.0.0/8, Feeds.Internal.Example. ,fd00::/8, "
    )
    assert policy.networks == (
        IPv4Network("127.0.0.1/32"),
        IPv6Network("::1/128"),
        IPv4Network("10.0.0.0/8"),
        IPv6Network("fd00::/8"),
    )
    assert policy.hosts == frozenset({"feeds.internal.example"})


def test_from_setting_empty_is_strict() -> None:
    assert AddressPolicy.from_setting("") == STRICT
    assert AddressPolicy.from_setting(" , ,") == STRICT


def test_policy_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        STRICT.hosts = frozenset({"x.example"})  # type: ignore[misc]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("10.0.0.0/33", "not a canonical IP address, CIDR or host name"),
        ("10.0.0.1/8", "has host bits set"),
        ("2130706433", "not a canonical IP address"),
        ("0177.0.0.1", "not a canonical IP address"),
        ("127.1", "not a canonical IP address"),
        ("::1::2", "not a canonical IP address"),
        ("http://example.com", "not a canonical IP address, CIDR or host name"),
        ("example.com:8080", "not a canonical IP address, CIDR or host name"),
        ("fe80::1%eth0", "zone ids are not supported"),
        ("300.1.1.1", "numeric last label"),
        ("1.2.3.4.5", "numeric last label"),
        ("*.example.com", "not a host name"),
        ("exa mple.com", "not a host name"),
        ("-bad.example", "not a host name"),
        ("bad-.example", "not a host name"),
        ("a..b.example", "not a host name"),
        ("x" * 64 + ".example", "not a host name"),
    ],
)
def test_from_setting_rejects_invalid_entries(entry: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        AddressPolicy.from_setting(f"127.0.0.1, {entry} ,example.org")
    assert f"invalid allow-list entry {entry!r}" in info.value.detail
    assert reason in info.value.detail


@pytest.mark.parametrize(
    ("allow", "ip"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "::ffff:127.0.0.1"),
        ("127.0.0.1", "2002:7f00:1::"),
        ("127.0.0.1", "64:ff9b::7f00:1"),
        ("::1", "::1"),
        ("10.0.0.0/8", "10.0.0.5"),
        ("10.0.0.0/8", "10.255.255.255"),
        ("10.0.0.0/8", "::ffff:10.1.2.3"),
        ("fd00::/8", "fd12::1"),
        ("0.0.0.0/0", "192.168.1.1"),
    ],
)
def test_allowed_networks_let_addresses_through(allow: str, ip: str) -> None:
    with refused("^refused: "):
        STRICT.check_ip(ip)
    assert AddressPolicy.from_setting(allow).check_ip(ip) is None


@pytest.mark.parametrize(
    ("allow", "ip"),
    [
        ("127.0.0.1", "127.0.0.2"),
        ("127.0.0.1", "::1"),
        ("::1", "127.0.0.1"),
        ("10.0.0.0/8", "172.16.0.1"),
        ("10.0.0.0/8", "::ffff:192.168.1.1"),
        ("fd00::/8", "fc00::1"),
        ("0.0.0.0/0", "fe80::1"),
        ("feeds.internal.example", "10.0.0.5"),
    ],
)
def test_allow_list_does_not_leak_to_other_addresses(allow: str, ip: str) -> None:
    with refused("^refused: "):
        AddressPolicy.from_setting(allow).check_ip(ip)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("feeds.internal.example", True),
        ("FEEDS.Internal.example.", True),
        ("sub.feeds.internal.example", False),
        ("internal.example", False),
        ("other.example", False),
        (None, False),
    ],
)
def test_allowed_host_names(host: str | None, allowed: bool) -> None:
    policy = AddressPolicy.from_setting("feeds.internal.example")
    if allowed:
        assert policy.check_ip("10.0.0.5", host=host) is None
        assert policy.check_ip("::1", host=host) is None
    else:
        with refused("10.0.0.5 is a private address"):
            policy.check_ip("10.0.0.5", host=host)


# --- check_url ----------------------------------------------------------------------------------

LOOPBACK_URLS = [
    "http://127.0.0.1/",
    "http://2130706433:8080/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://0X7F.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://127.0.0.1./",
    "https://user:pw@127.0.0.1:8443/feed",
    "http://example.com@127.0.0.1/",
    "http://a@b@127.0.0.1/",
    "http://%31%32%37.0.0.1/",
    "http://１２７．０．０．１/",
    "http://127\u30020\u30020\u30021\u3002/",
    "http://127.0\u00ad.0.1/",  # soft hyphen vanishes under IDNA
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]:8080/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::127.0.0.1]/",
]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_loopback_urls_refused_unless_allowed(url: str) -> None:
    with refused("127.0.0.1 .*loopback|127.0.0.1 is a loopback"):
        STRICT.check_url(url)
    assert AddressPolicy.from_setting("127.0.0.1").check_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://0251.0376.0251.0376/",
        "http://025177524776/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://0xa9fea9fe/",
        "http://169.254.43518/",
        "http://169.16689662/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[::169.254.169.254]/",
        "http://[2002:a9fe:a9fe::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[fd00:ec2::254]/",
        "http://[fd00:ec2::254%25eth0]/",
        "http://100.100.100.200/",
        "http://169.254.170.2/v2/credentials",
        "http://192.0.0.192/",
    ],
)
def test_metadata_urls_refused_even_when_everything_is_allowed(url: str) -> None:
    with refused("cloud metadata address"):
        ALLOW_ALL.check_url(url)


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("http://10.0.0.5/", "private"),
        ("http://0/", "unspecified"),
        ("http://0.0.0.0:80/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://[::1]/", "loopback"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://224.0.0.1/", "multicast"),
        ("http://255.255.255.255/", "broadcast"),
    ],
)
def test_ip_literal_urls_refused_by_category(url: str, category: str) -> None:
    with refused(category):
        STRICT.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/feed.xml",
        "https://example.com",
        "HTTPS://Example.COM:443/feed?x=1#frag",
        "http://user:pw@example.com/",
        "http://127.0.0.1@example.com/",
        "http://feeds.internal.example:8080/rss",
        "https://bücher.example/feed",
        "http://xn--bcher-kva.example/",
        "http://under_score.example/",
        "http://93.184.216.34/",
        "http://1.1.1.1:8080/",
        "http://[2606:4700::1111]/",
        "http://[2606:4700::1111]:8443/feed",
        "http://1.2.3.4.5/",  # not an IP literal: a (bogus) name, judged at connect time
    ],
)
def test_public_urls_accepted(url: str) -> None:
    assert STRICT.check_url(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://localhost/", "single-label"),
        ("http://LOCALHOST.:8080/", "single-label"),
        ("http://ｌｏｃａｌｈｏｓｔ/", "single-label"),
        ("http://localhost\u3002/", "single-label"),  # ideographic full stop as trailing dot
        ("http://%6c%6fcalhost/", "single-label"),
        ("http://metadata/computeMetadata/v1/", "single-label"),
        ("http://intranet/", "single-label"),
        ("http://foo.localhost/", "internal host name \\(.localhost\\)"),
        ("http://localhost.localdomain/", "internal host name \\(.localdomain\\)"),
        ("http://metadata.google.internal/", "internal host name \\(.internal\\)"),
        ("http://printer.local/", "internal host name \\(.local\\)"),
        ("http://router.home.arpa/", "internal host name \\(.home.arpa\\)"),
    ],
)
def test_internal_names_refused_unless_allowed(url: str, reason: str) -> None:
    with refused(reason):
        STRICT.check_url(url)
    policy = AddressPolicy.from_setting(
        "localhost, metadata, intranet, foo.localhost, localhost.localdomain, "
        "metadata.google.internal, printer.local, router.home.arpa"
    )
    assert policy.check_url(url) is None


def test_allowing_an_ip_allows_no_other_name_than_localhost() -> None:
    # localhost is the loopback addresses (see tests/test_sources.py); other names stay refused
    for name in ("intranet", "foo.localhost", "localhost.localdomain"):
        with refused(f"{name} is a"):
            AddressPolicy.from_setting("127.0.0.1").check_url(f"http://{name}:8080/")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
        ("ftp://example.com/feed", "scheme 'ftp'"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme 'gopher'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("data:text/xml,<rss/>", "scheme 'data'"),
        ("example.com/feed.xml", "scheme '\\(none\\)'"),
        ("//example.com/feed.xml", "scheme '\\(none\\)'"),
        ("http:///feed.xml", "has no host"),
        ("http://", "has no host"),
        ("http://:80/", "has no host"),
        ("http://user@/", "has no host"),
        ("http:example.com", "has no host"),
        ("http://./", "has no host"),
        ("http://example.com:99999/", "malformed URL"),
        ("http://example.com:abc/", "malformed URL"),
        ("http://[::1/", "malformed URL"),
        ("http://exa\tmple.com/", "control characters"),
        ("http://example.com/\nHost: x", "control characters"),
        ("http://example.com\x00.evil/", "control characters"),
        ("http://example.com\\@127.0.0.1/", "ambiguous authority"),
        ("http://a b.example/", "ambiguous authority"),
        ("http://[127.0.0.1]/", "malformed URL|bracketed host"),
        ("http://[v1.fe]/", "bracketed host '\\[v1.fe\\]' is not an IPv6 address"),
        ("http://[::ffff:0177.0.0.1]/", "malformed URL|bracketed host"),
        ("http://exa%2fmple.com/", "not a valid host name"),
        ("http://exa%00mple.com/", "not a valid host name"),
        ("http://example.com\uff20127.0.0.1/", "malformed URL|not a valid host name"),
    ],
)
def test_bad_urls_refused(url: str, reason: str) -> None:
    with refused(reason):
        ALLOW_ALL.check_url(url)
