"""URLs from feeds: canonical article URLs, safe absolute URLs, and tracking parameters.

- :func:`canonical_url` — the normalised URL used to recognise one article across sources
  (tracking parameters in :data:`TRACKING_PARAMS` dropped).
- :func:`safe_url` — an absolute URL with an allowed scheme, relative ones resolved against a
  base, or None; the sanitiser's attribute filter uses it for ``href`` and ``src``.
- :func:`http_url` — an entry's link as an absolute http(s) URL without credentials, or None;
  :func:`site_url` — the same rule for a feed's home-page link.

Most feed links are already canonical absolute http(s) URLs: a single regular expression
(:data:`_SIMPLE_URL_RE`) lets them skip ``urlsplit`` and the escape passes; everything else
takes the general path, which gives the same answer.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from curation.ingest.clean.limits import MAX_URL_CHARS
from curation.textrules import strip_controls as _strip_controls

__all__ = [
    "HTTP_SCHEMES",
    "TRACKING_PARAMS",
    "canonical_url",
    "http_and_canonical_url",
    "http_url",
    "safe_url",
    "site_url",
]

HTTP_SCHEMES = frozenset({"http", "https"})

#: Query parameters that only track the click; dropped by :func:`canonical_url` (case-insensitive),
#: together with every parameter whose name starts with ``utm_``.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
        "__hstc", "__hssc", "__hsfp", "hsctatracking", "mkt_tok", "oly_anon_id", "oly_enc_id",
        "rb_clickid", "s_cid", "vero_conv", "vero_id", "wickedid", "_openstat", "ref_src",
        "ref_url", "spm", "ncid", "sr_share", "cmpid", "at_medium", "at_campaign",
    }
)  # fmt: skip

# What browsers strip from both ends of a URL attribute (C0 controls and space) and remove
# anywhere inside it (TAB, LF, CR): ``jav&#x09;ascript:`` is ``javascript:`` to a browser.
_URL_EDGE_CHARS = "".join(chr(c) for c in range(0x21))

# An absolute http(s) URL that is already canonical up to its query and fragment: lower-case
# scheme and host, no userinfo or port, no escapes, no dot segments (checked apart), nothing a
# browser would strip. Most feed links look like this; they skip urlsplit and the escape passes.
_SIMPLE_URL_RE = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?"
    r"(?:\?([A-Za-z0-9\-._~!$&'()*+,;=:@/?]*))?(?:#[^\x00-\x20\x7f-\x9f]*)?"
)


def _squeeze_url(value: str) -> str:
    url = value.strip(_URL_EDGE_CHARS)
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    return url


# --------------------------------------------------------------------------------------------
# Safe absolute URLs
# --------------------------------------------------------------------------------------------


# A root-relative reference that urljoin appends to its base's origin unchanged: the path, query
# and fragment of _SIMPLE_URL_RE, a query and a fragment never empty (urljoin drops an empty
# "?" or "#"); dot segments are ruled out apart ("/." not in it).
_ROOT_RELATIVE_RE = re.compile(
    r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+)?"
    r"(?:#[^\x00-\x20\x7f-\x9f]+)?"
)


def safe_url(value: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """An absolute URL with one of ``schemes``, resolving relative ones against ``base_url``.

    Returns None (drop the attribute) for anything else, including relative URLs with no base.
    """
    if _SIMPLE_URL_RE.fullmatch(value):  # absolute http(s), nothing to strip: most links
        return value
    if base_url and value[:1] == "/" and "/." not in value and _ROOT_RELATIVE_RE.fullmatch(value):
        origin = _http_origin(base_url)  # root-relative (/images/a.png): the next most common
        if origin is not None and origin[0] in schemes:
            return origin[1] + value
    return _safe_url_general(value, base_url, schemes)


@lru_cache(maxsize=256)
def _http_origin(base_url: str) -> tuple[str, str] | None:
    """The scheme and ``scheme://host`` that urljoin gives a root-relative reference against
    ``base_url``, when that makes a URL :func:`_safe_url_general` keeps (http or https, a host);
    else None."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return None
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in HTTP_SCHEMES or not host or host[0] == ":":
        return None
    return parts.scheme, f"{parts.scheme}://{parts.netloc}"


def _safe_url_general(value: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    url = _squeeze_url(value)
    if not url:
        return None
    try:
        parts = urlsplit(url)
        if not parts.scheme:
            if base_url is None:
                return None
            url = urljoin(base_url, url)
            parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return None
    if scheme in HTTP_SCHEMES:
        host = parts.netloc.rpartition("@")[2]
        if not host or host[0] == ":":
            return None
    return url


def http_url(link: str | None, base_url: str | None) -> str | None:
    """``link`` resolved against ``base_url`` when it is (or becomes) an absolute http(s) URL
    with a host, else None. Credentials (``user:pass@``) are removed: a URL from a feed is shown
    to every curator and written to logs. Longer than :data:`~.limits.MAX_URL_CHARS`: None (a
    cut URL would lead elsewhere)."""
    if not link:
        return None
    url = safe_url(_strip_controls(link), base_url, HTTP_SCHEMES)
    if url is not None and "@" in url and not _SIMPLE_URL_RE.fullmatch(url):
        url = _without_userinfo(url)
    if url is None or len(url) > MAX_URL_CHARS:
        return None
    return url


def http_and_canonical_url(link: str | None, base_url: str | None) -> tuple[str | None, str | None]:
    """``(http_url(link, base_url), canonical_url(that))`` with one reading of a link that is
    already simple (:data:`_SIMPLE_URL_RE`), as most are; the same pair as the two calls."""
    if link:
        value = _strip_controls(link)
        match = _SIMPLE_URL_RE.fullmatch(value)
        if match is not None and len(value) <= MAX_URL_CHARS:
            # safe_url gives the value itself, it has no userinfo to remove, and canonical_url
            # of it (no base) starts with this same match
            canonical = _canonical_of_match(match)
            if canonical is None:
                canonical = _canonical_url_general(value, None)
            return value, canonical
    url = http_url(link, base_url)
    return url, canonical_url(url)


def site_url(link: str | None, base_url: str | None) -> str | None:
    """A feed's home-page link as we store it on its source: :func:`http_url` (absolute http or
    https only, credentials removed, at most 8,192 characters), or None for anything else
    (``javascript:``, ``data:``, relative junk with no base, a host-less URL)."""
    return http_url(link, base_url)


def _without_userinfo(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    hostport = parts.netloc.rpartition("@")[2]
    if not hostport:
        return None
    return urlunsplit(parts._replace(netloc=hostport))


# --------------------------------------------------------------------------------------------
# Canonical URLs
# --------------------------------------------------------------------------------------------

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Anything that is neither a %XX escape nor allowed unescaped in the component, or a stray "%".
_PATH_UNSAFE_RE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/]")
_QUERY_UNSAFE_RE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]")
_HOST_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalize_escape(match: re.Match[str]) -> str:
    token = match.group()
    if len(token) == 3 and token[0] == "%":
        char = chr(int(token[1:], 16))
        return char if char in _UNRESERVED else token.upper()
    return "".join(f"%{byte:02X}" for byte in token.encode("utf-8"))


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _canonical_host(hostname: str) -> str | None:
    if ":" in hostname:  # IPv6 literal (urlsplit has removed the brackets)
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError:
            return None
    host = unquote(hostname)
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")  # IDNA 2003 (stdlib), with nameprep
        except UnicodeError:
            return None
    host = host.lower()
    return host if _HOST_RE.fullmatch(host) else None


def _simple_canonical(url: str) -> str | None:
    """:func:`canonical_url` of a URL matching :data:`_SIMPLE_URL_RE`, else None (slow path)."""
    match = _SIMPLE_URL_RE.fullmatch(url)
    if match is None:
        return None
    return _canonical_of_match(match)


def _canonical_of_match(match: re.Match[str]) -> str | None:
    """:func:`canonical_url` of the URL ``match`` (of :data:`_SIMPLE_URL_RE`) matched, or None
    when it takes the general path after all (dot segments)."""
    scheme, host, path, query = match.groups()
    if not path:
        path = "/"
    elif "/." in path:
        return None
    if not query:
        return f"{scheme}://{host}{path}"
    kept = []
    for param in query.split("&"):
        if not param:
            continue
        name = param.split("=", 1)[0].replace("+", " ").strip().lower()
        if not (name.startswith("utm_") or name in TRACKING_PARAMS):
            kept.append(param)
    return f"{scheme}://{host}{path}?{'&'.join(kept)}" if kept else f"{scheme}://{host}{path}"


def canonical_url(url: str | None, *, base_url: str | None = None) -> str | None:
    """The normalised form of an article URL, for recognising one article across sources.

    Resolves ``url`` against ``base_url``; keeps only http and https (anything else → None);
    lower-cases scheme and host; IDNA-encodes non-ASCII hosts; drops userinfo, default ports,
    the fragment and tracking parameters (``utm_*`` and :data:`TRACKING_PARAMS`, any case) while
    keeping the other parameters in their order; removes an empty query; turns an empty path
    into ``/``; removes ``.``/``..`` segments; normalises percent-encoding (upper-case escapes,
    unreserved characters decoded, spaces and non-ASCII encoded as UTF-8, reserved escapes such
    as ``%2F`` left alone), so already-encoded URLs keep their meaning.

    The scheme is kept: ``http://x/a`` and ``https://x/a`` are different keys (a site may serve
    different things on each, and merging would let a plain-HTTP feed claim an HTTPS article).
    ``www.`` is kept for the same reason. Returns None for garbage.
    """
    if not url:
        return None
    if base_url is None and (simple := _simple_canonical(url)) is not None:
        return simple
    return _canonical_url_general(url, base_url)


def _canonical_url_general(url: str, base_url: str | None) -> str | None:
    value = _squeeze_url(_strip_controls(url))
    if not value:
        return None
    try:
        if base_url:
            value = urljoin(_strip_controls(base_url).strip(_URL_EDGE_CHARS), value)
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES or not parts.hostname:
        return None
    host = _canonical_host(parts.hostname)
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"

    path = _PATH_UNSAFE_RE.sub(_normalize_escape, parts.path.replace("\\", "/"))
    path = _remove_dot_segments(path) or "/"
    if not path.startswith("/"):
        path = "/" + path

    kept = []
    for param in parts.query.split("&"):
        if not param:
            continue
        name = unquote(param.split("=", 1)[0].replace("+", " ")).strip().lower()
        if name.startswith("utm_") or name in TRACKING_PARAMS:
            continue
        kept.append(_QUERY_UNSAFE_RE.sub(_normalize_escape, param))
    query = "&".join(kept)
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"
