"""The caller's private digest feed: ``/v1/me/feeds`` (its URLs, rotation) and the feeds.

``GET /v1/me/feeds`` shows the Atom and JSON Feed URLs; ``POST /v1/me/feeds/rotate`` replaces
them (the old ones answer 404 from then on). The feeds, ``/v1/digest-feeds/{token}.atom`` and
``.json``, need no authentication: a feed reader cannot send an API key, so the token in the
URL is the key (:mod:`curation.publish.personal`). They are marked private for caches.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.deps import DomainDep, Learner
from app.schemas import PersonalFeedsOut
from curation.curate.feeds import ATOM_TYPE, JSON_FEED_TYPE
from curation.publish.digest_feed import FEED_PATH
from curation.publish.personal import FeedUrls

router = APIRouter(prefix="/v1/me/feeds", tags=["me"])
feeds = APIRouter(prefix=FEED_PATH, tags=["me"])
Token = Annotated[str, Path(max_length=64)]
_FEED_HEADERS = {
    "Cache-Control": "private, max-age=60",  # one person's digests: no shared cache keeps them
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _out(urls: FeedUrls) -> PersonalFeedsOut:
    return PersonalFeedsOut(atom_url=urls.atom_url, json_url=urls.json_url)


@router.get("")
def my_feeds(me: Learner, domain: DomainDep) -> PersonalFeedsOut:
    """The caller's private feed URLs (made on the first call)."""
    return _out(domain.personal_feeds.urls(me.id))


@router.post("/rotate")
def rotate_my_feeds(me: Learner, domain: DomainDep) -> PersonalFeedsOut:
    """New feed URLs; the old ones answer 404 from now on."""
    return _out(domain.personal_feeds.rotate(me.id))


@feeds.get("/{token}.atom", response_class=Response)
def digest_atom(token: Token, domain: DomainDep) -> Response:
    """The owner's recorded digests as Atom; 404 for a token that is not (or no longer) one."""
    body = domain.personal_feeds.atom(token)
    return Response(body, media_type=f"{ATOM_TYPE}; charset=utf-8", headers=_FEED_HEADERS)


@feeds.get("/{token}.json", response_class=Response)
def digest_json(token: Token, domain: DomainDep) -> Response:
    """The owner's recorded digests as JSON Feed 1.1; 404 like the Atom feed."""
    body = domain.personal_feeds.json_feed(token)
    return Response(body, media_type=JSON_FEED_TYPE, headers=_FEED_HEADERS)
