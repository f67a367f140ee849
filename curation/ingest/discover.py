"""The feed behind a URL a curator gives: fetch it, take it when it is a feed, and search a web
page for the feeds it links to.

:func:`find_feed` fetches with the product's :class:`~curation.ingest.fetch.Fetcher` (the same
address policy, time limits, redirect rules and body cap as ingest). A document counts as a feed
when :func:`~curation.ingest.parse.parse_feed` reads it and
:func:`~curation.ingest.checks.check_entries` finds its entries usable. A web page is searched
for ``<link rel="alternate" type="application/rss+xml|atom+xml|feed+json|json" href=…>``
(:func:`feed_links`, with lxml; ``href`` resolved against ``<base href>`` and the page URL); each
link is checked by the address policy before it is fetched, and the first that is a feed is
taken, the others reported. Anything else is a :class:`~curation.errors.FeedCheckFailed` whose
detail says why. URLs in messages have their credentials masked.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree

from curation.errors import AddressRefused, FeedCheckFailed, ParseError
from curation.ingest.checks import check_entries
from curation.ingest.clean.source import source_link, source_title
from curation.ingest.fetch import Fetcher
from curation.ingest.netpolicy import AddressPolicy, mask_credentials
from curation.ingest.parse import parse_feed
from curation.ingest.records import FetchResult, ParsedFeed

__all__ = [
    "FEED_TYPES",
    "MAX_LINKS_TRIED",
    "FoundFeed",
    "feed_links",
    "find_feed",
    "looks_like_html",
]

log = logging.getLogger(__name__)

#: the ``type`` of a ``<link rel="alternate">`` that names a feed
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
MAX_LINKS_TRIED = 5  # feed links of a page fetched at most, in page order

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_MARK = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_FEED_MARK = re.compile(rb"<(?:rss|feed|rdf:rdf)[\s>]", re.IGNORECASE)
_SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class FoundFeed:
    """A feed that passed the check, and where it was found."""

    url: str  # the feed's URL: the one given, or the link found on the page
    title: str | None  # the feed's own title, on one line
    home_url: str | None  # the site the feed belongs to (its link, else the page it was on)
    version: str  # rss20, atom10, json11 …
    entries: int
    page_url: str | None = None  # the web page the feed was found on; None: the URL was a feed
    others: tuple[str, ...] = ()  # the page's other feed links, not added


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """True when ``body`` is a web page: an HTML mark comes before any feed root in its start,
    or it has neither and is served as HTML."""
    head = body[:_SNIFF_BYTES]
    html = _HTML_MARK.search(head)
    feed = _FEED_MARK.search(head)
    if html is not None:
        return feed is None or html.start() < feed.start()
    media = (content_type or "").split(";")[0].strip().lower()
    return feed is None and media in _HTML_TYPES


def _http_url(base: str, ref: str) -> str | None:
    try:
        url = urldefrag(urljoin(base, ref.strip()))[0]
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    return url if scheme in ("http", "https") else None


def feed_links(body: bytes, page_url: str) -> list[str]:
    """The feed URLs a web page links to, absolute, in page order, without repeats.

    Only ``<link>`` elements whose ``rel`` has the token ``alternate`` and whose ``type`` is one
    of :data:`FEED_TYPES` count; ``href`` is resolved against the first ``<base href>`` (itself
    resolved against ``page_url``) or ``page_url``. Only http(s) URLs are kept. lxml's HTML
    parser reads no DTD and fetches nothing; a page it cannot read has no links.
    """
    parser = etree.HTMLParser(recover=True, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(body, parser)
    except (etree.LxmlError, ValueError):
        return []
    if root is None:
        return []
    base = page_url
    for element in root.iter("base"):
        href = element.get("href")
        if href and (resolved := _http_url(page_url, href)):
            base = resolved
        break
    found: list[str] = []
    for element in root.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        media = (element.get("type") or "").split(";")[0].strip().lower()
        href = element.get("href")
        if "alternate" not in rel or media not in FEED_TYPES or not href or not href.strip():
            continue
        url = _http_url(base, href)
        if url is not None and url not in found:
            found.append(url)
    return found


def _failure(result: FetchResult) -> str | None:
    """Why a fetch brought no document; None when it did."""
    if result.error:
        return result.error
    if result.status != 200 or result.body is None:
        return f"HTTP {result.status}"
    return None


def _read(result: FetchResult, url: str) -> ParsedFeed:
    """The feed a fetched document holds; :class:`ParseError` when it is not a usable one."""
    assert result.body is not None
    where = result.final_url or url
    feed = parse_feed(result.body, url=where, content_type=result.content_type)
    return check_entries(feed, url=where)


def _found(
    url: str, feed: ParsedFeed, page_url: str | None = None, others: tuple[str, ...] = ()
) -> FoundFeed:
    # the same rule as ingest (curation.ingest.clean.source): http(s) only, no credentials
    return FoundFeed(
        url=url,
        title=source_title(feed.title),
        home_url=source_link(feed.link, url) or source_link(page_url, None),
        version=feed.version,
        entries=len(feed.entries),
        page_url=page_url,
        others=others,
    )


async def find_feed(url: str, fetcher: Fetcher, policy: AddressPolicy) -> FoundFeed:
    """The feed ``url`` is, or the first working feed a web page at ``url`` links to.

    ``url`` must already have passed ``policy``; every link found on a page is checked here
    before it is fetched. Raises :class:`FeedCheckFailed` saying why no feed was found.
    """
    shown = mask_credentials(url)
    result = await fetcher.fetch(url)
    if (problem := _failure(result)) is not None:
        raise FeedCheckFailed(mask_credentials(f"{shown} could not be fetched: {problem}"))
    try:
        return _found(url, _read(result, url))
    except ParseError as exc:
        assert result.body is not None
        if not looks_like_html(result.body, result.content_type):
            why = _why(exc)
            raise FeedCheckFailed(mask_credentials(f"{shown} is not a feed: {why}")) from None
    links = feed_links(result.body, result.final_url or url)
    if not links:
        raise FeedCheckFailed(f"{shown} is a web page with no feed link")
    problems: list[str] = []
    for link in links[:MAX_LINKS_TRIED]:
        tried = await _try_link(link, fetcher, policy)
        if isinstance(tried, str):
            problems.append(f"{mask_credentials(link)} ({tried})")
            continue
        others = tuple(other for other in links if other != link)
        log.info("feed %s found on %s", mask_credentials(link), shown)
        return _found(link, tried, page_url=url, others=others)
    if len(links) > MAX_LINKS_TRIED:
        problems.append(f"{len(links) - MAX_LINKS_TRIED} more links not tried")
    raise FeedCheckFailed(
        mask_credentials(
            f"{shown} is a web page whose feed links do not work: {'; '.join(problems)}"
        )
    )


async def _try_link(link: str, fetcher: Fetcher, policy: AddressPolicy) -> ParsedFeed | str:
    """The feed at ``link``, or why it is not one."""
    try:
        policy.check_url(link)
    except AddressRefused as exc:
        return exc.detail
    result = await fetcher.fetch(link)
    if (problem := _failure(result)) is not None:
        return problem
    try:
        return _read(result, link)
    except ParseError as exc:
        return f"not a feed: {_why(exc)}"


def _why(exc: ParseError) -> str:
    """A parse error's detail without a leading "not a feed: " (the caller says it)."""
    return exc.detail.removeprefix("not a feed: ")
