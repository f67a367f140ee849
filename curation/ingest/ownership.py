"""Who owns a stored article: which feed's title, links and content an item shows.

An item is stored once however many feeds carry it (same canonical URL), so one feed's version
is shown, the *owner*'s (``item.origin_source_id``). Any feed may carry any URL, so ownership
cannot simply go to whoever published a URL first: a hostile feed could publish a legitimate
site's article first (tracking parameters make it look new) and show its own title and links to
everyone who follows the legitimate feed. The rule:

1. A feed **speaks for** an article when the host that served the feed (its final URL, after
   redirects; never a link the feed states about itself, which it could invent) and the
   article's host have the same registrable domain (``feeds.example.co.uk`` speaks for
   ``www.example.co.uk``; ``evil.github.io`` does not speak for ``victim.github.io``: the Public
   Suffix List's private suffixes count as registries). An IP address speaks only for itself.
2. The first feed to store a URL owns it, and only the owner updates it in place.
3. A feed that speaks for the article **takes it over** from an owner that does not: its version
   replaces the owner's fields at once, and it becomes the owner. An owner that speaks for the
   article is never displaced (between two feeds of the same site, the first keeps it).
4. An item whose owner was deleted is adopted by the next feed that carries it.

A feed served from elsewhere than its articles (a feed proxy, an aggregator) speaks for none of
them: it keeps what it published first until the articles' own site publishes them too.

A feed that does not own an item still carries it (it is linked in ``item_source``): its
subscribers see the item, with the owner's fields. The decision is made per transaction with
what is stored plus what the transaction itself has decided (``curation.storage.feeds``).
"""

from __future__ import annotations

import ipaddress
from functools import cache, lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

__all__ = ["may_take_over", "site_of", "speaks_for"]


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled with the package: no network


def site_of(url: str | None) -> str | None:
    """The registrable domain of ``url``'s host (an IP literal or a single label: the host
    itself), lower-case; None when there is no host."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return _site_of_host(host) if host else None


@lru_cache(maxsize=16384)
def _site_of_host(host: str) -> str | None:
    host = host.rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    return _suffixes().privatesuffix(host) or host or None


def speaks_for(feed_url: str | None, article_url: str | None) -> bool:
    """Whether a feed served from ``feed_url`` speaks for the article at ``article_url``."""
    feed_site = site_of(feed_url)
    return feed_site is not None and feed_site == site_of(article_url)


def may_take_over(
    *,
    claimant_url: str | None,
    owner_id: int | None,
    owner_url: str | None,
    article_url: str | None,
) -> bool:
    """Whether a feed served from ``claimant_url`` (not the owner) replaces the owner's version
    of the article at ``article_url``: when the owner is gone, or when the claimant speaks for
    the article and the owner does not."""
    if owner_id is None:
        return True
    return speaks_for(claimant_url, article_url) and not speaks_for(owner_url, article_url)
