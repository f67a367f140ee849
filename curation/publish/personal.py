"""Each person's private digest feed: its URLs, their rotation, and the feed documents.

``GET /v1/me/feeds`` shows the two URLs (made on first ask), ``POST /v1/me/feeds/rotate``
replaces their token, and the URLs themselves need no authentication: the token (the
collections' rule, :mod:`curation.curate.collections`: 192 random bits) is the only key, and it
names one person, so a feed only ever carries that person's digests. An unknown, malformed or
rotated-away token is a :class:`~curation.errors.NotFound` that says nothing more.

The feed carries the recorded digests of the last ``CURATION_PERSONAL_FEED_DAYS`` days (at most
:data:`MAX_DIGESTS` of them), read from what was recorded, never rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from curation.clock import utcnow
from curation.curate.collections import is_token_shaped, new_token
from curation.digest.view import DigestView
from curation.errors import NotFound
from curation.publish import digest_feed
from curation.publish.digest_feed import FEED_PATH, PersonalFeedSpec
from curation.storage.personal_feeds import PersonalFeedStore

MAX_DIGESTS = 60  # digests per feed document, whatever the days setting


@dataclass(frozen=True, slots=True)
class FeedUrls:
    atom_url: str
    json_url: str


class PersonalFeeds:
    def __init__(self, store: PersonalFeedStore, *, base_url: str, days: int) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.days = days

    def urls(self, person_id: int) -> FeedUrls:
        """The person's feed URLs (their token is made on the first call)."""
        return self._urls(self.store.token(person_id, new_token=new_token(), now=utcnow()))

    def rotate(self, person_id: int) -> FeedUrls:
        """New URLs; the old ones answer 404 from now on."""
        return self._urls(self.store.replace(person_id, new_token=new_token(), now=utcnow()))

    def atom(self, token: str, now: datetime | None = None) -> bytes:
        return digest_feed.atom(*self._published(token, now))

    def json_feed(self, token: str, now: datetime | None = None) -> bytes:
        return digest_feed.json_feed(*self._published(token, now))

    def _urls(self, token: str) -> FeedUrls:
        base = f"{self.base_url}{FEED_PATH}/{token}"
        return FeedUrls(atom_url=f"{base}.atom", json_url=f"{base}.json")

    def _published(
        self, token: str, now: datetime | None
    ) -> tuple[PersonalFeedSpec, list[digest_feed.FeedEntry]]:
        owner = self.store.owner(token) if is_token_shaped(token) else None
        if owner is None:  # says nothing about whether this token was ever someone's
            raise NotFound("no such feed")
        person_id, since = owner
        urls = self._urls(token)
        spec = PersonalFeedSpec(
            person_id=person_id,
            title="Your curation digest",
            base_url=self.base_url,
            atom_url=urls.atom_url,
            json_url=urls.json_url,
            updated_at=since,
        )
        start = (now or utcnow()) - timedelta(days=self.days)
        rows = self.store.digests(person_id, since=start, limit=MAX_DIGESTS)
        views = [(row.updated_at, DigestView.from_json(row.payload)) for row in rows]
        return spec, digest_feed.entries_of(views)
