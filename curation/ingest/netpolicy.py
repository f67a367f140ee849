"""The outbound address policy (SSRF guard), as pure functions: no sockets, no DNS, no I/O.

This module owns the answer to "may the fetcher talk to this address?". The fetcher asks twice:

* :meth:`AddressPolicy.check_url` on every URL (the first one and every redirect hop) before
  connecting. It refuses non-http(s) schemes, malformed or ambiguous authorities, IP literals in
  any spelling (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``[::ffff:127.0.0.1]`` ...) that
  point somewhere we refuse, and obviously-internal names (``localhost``, ``*.internal`` ...).
  Other names are *not* resolved here.
* :meth:`AddressPolicy.check_ip` on every address a name resolved to, at connect time. That is the
  check that actually holds against DNS tricks; ``check_url`` only fails fast.

An address is allowed when it is public, or the operator's allow list covers it (CIDR/IP, or the
URL host name). ``localhost`` counts as its loopback addresses: it is allowed when the allow list
covers 127.0.0.1 or ::1. A refusal the operator could lift (a loopback, private or otherwise local
address or name) says how: "…; set CURATION_FETCH_ALLOW_HOSTS=127.0.0.1 to allow it".

IPv6 forms that carry an IPv4 address (mapped, compatible, SIIT, 6to4, NAT64) are judged as the
IPv4 they carry. Teredo (``2001::/32``) is refused by default: its far end is an
IPv4 host we cannot vet. Cloud-metadata addresses are refused whatever the allow list says.

Ports (:meth:`AddressPolicy.check_url`, so on every URL the policy judges: adding a source,
each fetch and each redirect hop). Allowed: 80, 443 and 1024–65535 except
:data:`REFUSED_PORTS`, the well-known services a feed is never served from (databases, caches,
message brokers, container and cluster APIs, remote desktops, and the ports browsers refuse).
Everything else below 1024 (SSH 22, SMTP 25, …) is refused too. None of the refused ports lies in
the range operating systems hand out to local servers (32768–60999), so tests' loopback servers
keep working. The allow list opens more: an entry ``:PORT`` (e.g. ``:8022``) allows that port on
any host, and a host or address the allow list covers (``127.0.0.1``, ``feeds.internal``) may be
reached on any port: the operator has vouched for it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from curation.errors import AddressRefused, InvalidInput

__all__ = [
    "ALLOW_SETTING",
    "ALLOWED_LOW_PORTS",
    "METADATA_ADDRESSES",
    "REFUSED_PORTS",
    "AddressPolicy",
    "is_public",
    "mask_credentials",
    "normalise_ip",
]

#: the setting (environment variable) that holds the allow list, named in refusals
ALLOW_SETTING = "CURATION_FETCH_ALLOW_HOSTS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_ip = ipaddress.ip_address
_net = ipaddress.ip_network

#: Refused even when the allow list covers them (also when carried inside an IPv6 address).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        _ip("169.254.169.254"),  # AWS, GCP, Azure, DigitalOcean, OpenStack ...
        _ip("fd00:ec2::254"),  # AWS IPv6
        _ip("100.100.100.200"),  # Alibaba Cloud
        _ip("169.254.170.2"),  # AWS ECS task metadata
        _ip("192.0.0.192"),  # Oracle Cloud
        _ip("168.63.129.16"),  # Azure WireServer (a "public" address only Azure hosts can reach)
    }
)

#: Ports below 1024 that are allowed (every other one is refused unless the allow list opens it).
ALLOWED_LOW_PORTS: frozenset[int] = frozenset({80, 443})

#: Ports from 1024 up that are refused: well-known services that never serve feeds.
REFUSED_PORTS: frozenset[int] = frozenset(
    {
        1080,  # SOCKS proxy
        1433, 1434,  # Microsoft SQL Server
        1521,  # Oracle database
        1719, 1720, 1723,  # H.323, PPTP (refused by browsers)
        1883, 8883,  # MQTT
        2049,  # NFS
        2375, 2376,  # Docker Engine API
        2379, 2380,  # etcd
        3306,  # MySQL, MariaDB
        3389,  # Remote Desktop
        3659, 4045, 5060, 5061, 6000, 6566, 10080,  # refused by browsers (fetch "bad ports")
        4369,  # Erlang port mapper
        5432,  # PostgreSQL
        5672,  # AMQP (RabbitMQ)
        5900, 5901,  # VNC
        5984,  # CouchDB
        6379,  # Redis
        6443,  # Kubernetes API
        6665, 6666, 6667, 6668, 6669, 6697,  # IRC (refused by browsers)
        8500,  # Consul HTTP API
        9042,  # Cassandra
        9092,  # Kafka
        9200, 9300,  # Elasticsearch
        10250, 10255,  # kubelet
        11211,  # memcached
        15672,  # RabbitMQ management
        27017, 27018, 27019,  # MongoDB
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Checked in order; the first match names the category. Anything left that ``ipaddress`` does not
# call global is refused afterwards as "non-global".
_CATEGORIES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (_net(cidr), name)
    for cidr, name in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("169.254.0.0/16", "a link-local address"),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("192.88.99.0/24", "a deprecated 6to4 relay anycast address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "a reserved (limited broadcast) address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("100::/64", "a discard-only address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("fc00::/7", "a unique-local address"),
        ("ff00::/8", "a multicast address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001::/32", "a Teredo tunnel address (refused by default)"),
        ("64:ff9b:1::/48", "a NAT64 local-use address not in the /96 layout"),
    )
)
_GLOBAL_UNICAST = _net("2000::/3")

_MAPPED = _net("::ffff:0:0/96")
_TRANSLATED = _net("::ffff:0:0:0/96")  # SIIT, RFC 2765
_COMPATIBLE = _net("::/96")
_SIX_TO_FOUR = _net("2002::/16")
_NAT64_WELL_KNOWN = _net("64:ff9b::/96")
_NAT64_LOCAL = _net("64:ff9b:1::/48")
_NAT64_LOCAL_96_MIDDLE = ((1 << 48) - 1) << 32  # bits 48..95 of the address: zero in /96 layout

# Internal name suffixes (RFC 6761/6762/8375, ICANN ".internal", common /etc/hosts names).
_INTERNAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "home.arpa")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAME_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_OCT_DIGITS = frozenset("01234567")

# refusals the operator may lift with the allow list: the message then says how
_LOCAL_CATEGORIES = frozenset(
    {
        "a loopback address",
        "a private address",
        "a shared (CGNAT) address",
        "a link-local address",
        "a site-local address",
        "a unique-local address",
    }
)
_LOOPBACK_NAME = "localhost"  # RFC 6761: always the host itself
_LOOPBACKS = (_ip("127.0.0.1"), _ip("::1"))

# a scheme and the authority after it; the userinfo is what precedes the authority's last "@"
_URL_AUTHORITY = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*://)([^\s/?#]*)")
_MASK = "***"


def mask_credentials(text: str) -> str:
    """``text`` (a URL, or a message quoting URLs) with every URL's credentials masked.

    ``https://user:pass@host/feed`` becomes ``https://user:***@host/feed``; a user name alone
    (often a token) is masked whole: ``https://***@host/feed``. The one masking function: every
    output that may show a source URL (API, CLI, OPML export, log lines, errors, ``last_error``)
    passes it through here. Idempotent; text without credentials comes back unchanged.
    """
    if "@" not in text:
        return text

    def mask(match: re.Match[str]) -> str:
        scheme, authority = match.groups()
        userinfo, at, hostport = authority.rpartition("@")
        if not at:
            return match.group(0)
        user, colon, _ = userinfo.partition(":")
        return f"{scheme}{user}:{_MASK}@{hostport}" if colon else f"{scheme}{_MASK}@{hostport}"

    return _URL_AUTHORITY.sub(mask, text)


def _refuse(detail: str) -> AddressRefused:
    return AddressRefused(f"refused: {detail}", permanent=True)


def _ipv4_part(part: str, *, last: bool) -> int | None:
    """One dotted part, inet_aton style: ``0x``/``0X`` hex, leading ``0`` octal, else decimal."""
    if part[:2] in ("0x", "0X"):
        digits = part[2:]
        if not digits:  # glibc takes a bare "0x" as 0, but not in the last part
            return None if last else 0
        return int(digits, 16) if set(digits) <= _HEX_DIGITS else None
    if not part.isascii() or not part.isdigit():  # also rejects "", "+1", " 1", "1_0"
        return None
    if len(part) > 1 and part[0] == "0":
        return int(part, 8) if set(part) <= _OCT_DIGITS else None
    return int(part)


def _parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for index, part in enumerate(parts):
        value = _ipv4_part(part, last=index == len(parts) - 1)
        if value is None:
            return None
        values.append(value)
    *head, last = values
    if any(value > 0xFF for value in head) or last >= 1 << (8 * (5 - len(values))):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (24 - 8 * index)
    return ipaddress.IPv4Address(number)


def normalise_ip(text: str) -> IPAddress | None:
    """Parse an IP literal in any spelling a resolver would accept; None when it is not one.

    IPv4 follows ``inet_aton``: one to four parts, each decimal, octal (leading ``0``) or hex
    (``0x``); the last part fills the remaining bytes (``127.1`` is 127.0.0.1, ``2130706433`` is
    127.0.0.1). IPv6 may be bracketed and may carry a zone id (``fe80::1%eth0`` or the URL form
    ``%25eth0``), which is dropped. Surrounding whitespace is ignored; nothing is percent-decoded.
    """
    text = text.strip()
    bracketed = text.startswith("[") and text.endswith("]")
    if bracketed:
        text = text[1:-1]
    if bracketed or ":" in text:
        address = text.partition("%")[0]
        try:
            return ipaddress.IPv6Address(address)
        except ValueError:
            return None
    return _parse_ipv4(text)


def _carried_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address stands for, and the name of the form; or None."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _MAPPED:
        return low32, "IPv4-mapped"
    if ip in _TRANSLATED:
        return low32, "IPv4-translated"
    if ip in _COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves
        return low32, "IPv4-compatible"
    if ip in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF), "6to4"
    if ip in _NAT64_WELL_KNOWN:
        return low32, "NAT64"
    if ip in _NAT64_LOCAL and not int(ip) & _NAT64_LOCAL_96_MIDDLE:
        return low32, "NAT64 local-use"
    return None


def _as_address(ip: str | IPAddress) -> IPAddress:
    if isinstance(ip, str):
        parsed = normalise_ip(ip)
        if parsed is None:
            raise _refuse(f"{ip!r} is not an IP address")
        return parsed
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return ipaddress.IPv6Address(int(ip))  # a zone id must not dodge set membership
    return ip


def _category(ip: IPAddress) -> str | None:
    """Why ``ip`` (judged as itself, not what it carries) is refused; None when public."""
    for network, name in _CATEGORIES:
        if ip.version == network.version and ip in network:
            return name
    if ip.version == 6 and ip not in _GLOBAL_UNICAST:
        return "a reserved address (outside global unicast 2000::/3)"
    if not ip.is_global:
        return "a non-global (special-purpose) address"
    return None


def _metadata_reason(ip: IPAddress, carried: tuple[ipaddress.IPv4Address, str] | None) -> str:
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if carried and carried[0] in METADATA_ADDRESSES:
        return f"{ip} carries {carried[0]} ({carried[1]}), a cloud metadata address"
    teredo = ip.teredo if isinstance(ip, ipaddress.IPv6Address) else None  # (server, client)
    if teredo and any(end in METADATA_ADDRESSES for end in teredo):
        return f"{ip} is a Teredo address tunnelling to a cloud metadata address"
    return ""


def _refusal(ip: IPAddress) -> str:
    """Why the default (empty allow list) policy refuses ``ip``; "" when it is public."""
    carried = _carried_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if reason := _metadata_reason(ip, carried):
        return reason
    if carried:
        category = _category(carried[0])
        return f"{ip} carries {carried[0]} ({carried[1]}), {category}" if category else ""
    category = _category(ip)
    return f"{ip} is {category}" if category else ""


def is_public(ip: str | IPAddress) -> bool:
    """True when the policy with an empty allow list lets ``ip`` through (False for non-IPs)."""
    try:
        return not _refusal(_as_address(ip))
    except AddressRefused:
        return False


def _norm_host(name: str) -> str:
    """Host-name comparison form: lower case, no trailing dot, IDNA (nameprep + punycode).

    IDNA folds full-width and other compatibility forms (``１２７。０。０。１`` is 127.0.0.1).
    """
    name = name.strip().lower()
    if not name.isascii():
        with contextlib.suppress(UnicodeError):  # left as is: it cannot match an allowed name
            name = name.encode("idna").decode("ascii")
    return name.rstrip(".")


def _judged(ip: IPAddress, carried: tuple[ipaddress.IPv4Address, str] | None) -> IPAddress:
    """The address a refusal is about: the IPv4 address an IPv6 form carries, else itself."""
    return carried[0] if carried else ip


def _internal_name(host: str) -> str:
    if "." not in host:
        return f"{host} is a single-label (internal) host name"
    for suffix in _INTERNAL_SUFFIXES:
        if host.endswith("." + suffix):
            return f"{host} is an internal host name (.{suffix})"
    return ""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses the fetcher may connect to. ``AddressPolicy()`` allows only public ones.

    ``networks`` and ``hosts`` are the operator's allow list (see :meth:`from_setting`).
    Host names match exactly (case-insensitive, trailing dot ignored); no subdomains.
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    ports: frozenset[int] = frozenset()  # opened on every host (entries ``:PORT``)

    @classmethod
    def from_setting(cls, allow: str) -> AddressPolicy:
        """Build from a comma-separated list of IPs, CIDRs, host names and ``:PORT`` entries
        (blank items skipped).

        IPs must be written canonically (``10.0.0.1``, ``::1`` or ``[::1]``), CIDRs without host
        bits (``10.0.0.0/8``), names as plain DNS names, ports as ``:`` and a number from 1 to
        65535 (``:8022``). Raises :class:`InvalidInput` naming the first bad entry.
        """
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        ports: set[int] = set()
        for raw in allow.split(","):
            entry = raw.strip()
            if not entry:
                continue
            if entry.startswith(":") and not entry.startswith("::"):
                digits = entry[1:]
                if not (digits.isascii() and digits.isdigit() and 0 < int(digits) < 65536):
                    raise InvalidInput(f"invalid allow-list entry {entry!r}: not a port")
                ports.add(int(digits))
                continue
            text = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
            if "%" in text:
                raise InvalidInput(
                    f"invalid allow-list entry {entry!r}: zone ids are not supported"
                )
            if "/" in text or ":" in text or normalise_ip(text) is not None:
                try:
                    networks.append(_net(text, strict=True))
                except ValueError as exc:
                    raise InvalidInput(
                        f"invalid allow-list entry {entry!r}: not a canonical IP address, CIDR "
                        f"or host name ({exc})"
                    ) from None
                continue
            name = _norm_host(text)
            labels = name.split(".")
            if not all(_NAME_LABEL.fullmatch(label) for label in labels) or len(name) > 253:
                raise InvalidInput(f"invalid allow-list entry {entry!r}: not a host name")
            if labels[-1].isdigit():
                raise InvalidInput(
                    f"invalid allow-list entry {entry!r}: numeric last label (not an IP address?)"
                )
            hosts.add(name)
        return cls(networks=tuple(networks), hosts=frozenset(hosts), ports=frozenset(ports))

    def _host_allowed(self, host: str | None) -> bool:
        return host is not None and _norm_host(host) in self.hosts

    def _network_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def _loopback_allowed(self) -> bool:
        """True when the allow list covers 127.0.0.1 or ::1 (then ``localhost`` is allowed)."""
        return any(self._network_allowed(ip) for ip in _LOOPBACKS)

    def _hint(self, allow: str) -> str:
        """How the operator would let ``allow`` (an address or a host name) through."""
        if self.networks or self.hosts:
            return f"; add {allow} to {ALLOW_SETTING} to allow it"
        return f"; set {ALLOW_SETTING}={allow} to allow it"

    def check_ip(self, ip: str | IPAddress, *, host: str | None = None) -> None:
        """Raise :class:`AddressRefused` unless the fetcher may connect to ``ip``.

        ``host`` is the name from the URL (when it had one): an allowed host name lets any of its
        addresses through. Metadata addresses are refused regardless of the allow list.
        """
        address = _as_address(ip)
        carried = _carried_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        if reason := _metadata_reason(address, carried):
            raise _refuse(reason)
        if self._host_allowed(host) or self._network_allowed(address):
            return
        if carried and self._network_allowed(carried[0]):
            return
        name = _norm_host(host) if host else None
        if name == _LOOPBACK_NAME and address.is_loopback and self._loopback_allowed():
            return  # localhost may resolve to 127.0.0.1 and ::1: either is the host itself
        if reason := _refusal(address):
            judged = _judged(address, carried)
            if _category(judged) in _LOCAL_CATEGORIES:
                named = name is not None and name != _LOOPBACK_NAME and normalise_ip(name) is None
                reason += self._hint(name if named else str(judged))
            raise _refuse(reason)

    def check_url(self, url: str) -> None:
        """Raise :class:`AddressRefused` when ``url`` must not be fetched, judged without DNS.

        Refuses non-http(s) schemes, malformed URLs, control characters, backslashes or spaces
        in the authority, a missing host, refused IP literals and internal names, and ports the
        port rule refuses (see the module docstring). Returns None for other names: the
        connect-time :meth:`check_ip` judges what they resolve to.
        """
        vouched, port = self._judge_host(url)
        if vouched or port in self.ports or self.port_allowed(port):
            return
        hint = f"; add :{port} to {ALLOW_SETTING} to allow it" if port else ""
        raise _refuse(f"port {port} is not one feeds are fetched from{hint}")

    @staticmethod
    def port_allowed(port: int) -> bool:
        """The default port rule: 80, 443, and 1024–65535 except :data:`REFUSED_PORTS`."""
        if port < 1024:
            return port in ALLOWED_LOW_PORTS
        return port <= 65535 and port not in REFUSED_PORTS

    def _vouched(self, address: IPAddress) -> bool:
        carried = _carried_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        return self._network_allowed(address) or bool(carried and self._network_allowed(carried[0]))

    def _judge_host(self, url: str) -> tuple[bool, int]:
        """The address part of :meth:`check_url`: raises when refused; else whether the allow
        list vouches for the host (then any port may be used), and the URL's port."""
        raw = url.strip()
        shown = mask_credentials(raw)
        if _CONTROL.search(raw):
            raise _refuse(f"URL {shown!r} contains control characters")
        try:
            parts = urlsplit(raw)
            given = parts.port  # validates the port (raises ValueError)
        except ValueError as exc:
            raise _refuse(f"malformed URL {shown!r} ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _refuse(f"scheme {parts.scheme or '(none)'!r} is not http or https")
        port = _DEFAULT_PORTS[scheme] if given is None else given
        if "\\" in parts.netloc or " " in parts.netloc:
            raise _refuse(f"ambiguous authority in URL {shown!r}")
        hostport = parts.netloc.rpartition("@")[2]  # the real host follows the last "@"
        if hostport.startswith("["):
            literal = hostport[: hostport.find("]") + 1]
            address = normalise_ip(unquote(literal))
            if not isinstance(address, ipaddress.IPv6Address):
                raise _refuse(f"bracketed host {literal!r} is not an IPv6 address")
            self.check_ip(address)
            return self._vouched(_as_address(address)), port
        host = _norm_host(unquote(hostport.partition(":")[0]))
        if not host:
            raise _refuse(f"URL {shown!r} has no host")
        if not all(char.isalnum() or char in "-_." for char in host):
            raise _refuse(f"host {host!r} is not a valid host name")
        address = normalise_ip(host)
        if address is not None:
            self.check_ip(address)
            return self._vouched(_as_address(address)), port
        if self._host_allowed(host):
            return True, port
        if host == _LOOPBACK_NAME and self._loopback_allowed():
            return True, port  # the connect-time check lets only loopback addresses through
        if reason := _internal_name(host):
            allow = str(_LOOPBACKS[0]) if host == _LOOPBACK_NAME else host
            raise _refuse(reason + self._hint(allow))
        return False, port
