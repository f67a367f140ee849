"""Item links in digest e-mails: a signed redirect to the item that counts one open per person.

The e-mail's item link is ``/v1/email/open?token=…`` with a signed ``open`` token
(:mod:`curation.mail.tokens`) naming the person and the item. Following it answers a redirect
to the item's **stored** URL, looked up by the token's item id (only http(s) URLs): no URL in
the request is ever followed, so it cannot be used as an open redirect.

**What counts as an open** (:func:`counts_as_open`). Mail scanners (Safe Links, sandboxing
gateways, link checkers) fetch every link of a message when it is delivered, before any person
reads it. So a request is counted only when all of these hold:

1. it is a GET (a HEAD is a link checker: it gets the redirect, nothing is counted);
2. the token is genuine, not expired, and still held by the person it was made for;
3. the item was delivered in one of that person's digests, and that digest's e-mail was marked
   sent at least ``CURATION_EMAIL_OPEN_GRACE_SECONDS`` (120 s) before: the scanning happens
   during and right after delivery, a person reads later. Before the e-mail is marked sent,
   nothing counts (the scanner may act inside the SMTP conversation);
4. this person's open of this item was not counted before (one row per person and item).

Whatever is decided, a genuine link still redirects (even expired: the target is our stored
URL, so nothing is exposed), and the decision is never shown to the client. The cost: a person
who opens an item within two minutes of delivery is not counted; opens are a lower bound.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from curation.errors import NotFound
from curation.mail.tokens import LinkClaim, held_by, verify
from curation.storage.insights import OpenStore
from curation.storage.people import PeopleStore
from curation.weblinks import web_url

OPEN_ACTIONS = ("open",)
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # verify the signature first; expiry is judged here


def counts_as_open(*, now: datetime, sent_at: datetime | None, grace: timedelta) -> bool:
    """Rule 3 above: only clicks ``grace`` or more after the e-mail was marked sent count."""
    return sent_at is not None and now - sent_at >= grace


class OpenLinks:
    def __init__(
        self, opens: OpenStore, people: PeopleStore, secret: str, *, grace_seconds: int
    ) -> None:
        self.opens = opens
        self.people = people
        self.secret = secret
        self.grace = timedelta(seconds=grace_seconds)

    def follow(self, token: str, *, now: datetime, count: bool = True) -> tuple[str, bool]:
        """The item's URL to redirect to, and whether this request was counted as an open.

        InvalidLink for a token that is not ours; NotFound when the item is gone or has no
        web address. ``count`` False (a HEAD) never records anything."""
        claim = verify(self.secret, token, now=_NEVER, actions=OPEN_ACTIONS)
        target = web_url(self.opens.item_url(claim.item_id))
        if target is None:
            raise NotFound("this item has no web address any more", resource_id=claim.item_id)
        counted = count and now < claim.expires_at and self._counts(claim, now)
        return target, counted

    def _counts(self, claim: LinkClaim, now: datetime) -> bool:
        try:
            person = self.people.get(claim.person_id)
        except NotFound:
            return False
        if not held_by(self.secret, claim, person.created_at):
            return False
        delivered, sent_at = self.opens.delivery(claim.person_id, claim.item_id)
        if not delivered or not counts_as_open(now=now, sent_at=sent_at, grace=self.grace):
            return False
        return self.opens.record(claim.person_id, claim.item_id, now=now)
