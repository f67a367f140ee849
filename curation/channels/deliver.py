"""Post each recorded digest once to each Slack / Teams webhook channel of its person.

The same guarantees as e-mail (:mod:`curation.mail.deliver`). :func:`deliver_channels`

1. *records* a ``channel_delivery`` row per (digest with items, enabled webhook channel of its
   person created before the digest) that has none (:mod:`curation.storage.channels`; unique
   per pair): ``pending`` on a day of the channel's cadence, ``skipped`` on the others;
2. *claims* each due row with one atomic ``UPDATE`` (``sending``, with a lease of
   ``CURATION_CHANNEL_LEASE_MINUTES``): of two runs racing for a row only one posts it, and a
   run that crashed leaves it ``sending`` until the lease ends, when the next run posts it;
3. renders the stored :class:`DigestView` (the e-mail's content and feedback links:
   :mod:`.content`) as Block Kit (:mod:`.slack`) or an Adaptive Card (:mod:`.teams`) and POSTs it;
4. records the outcome (:mod:`.outcomes`): ``sent`` after a 2xx; a retry after ``Retry-After``
   (429) or the backoff (5xx, time-out); ``failed`` with the reason otherwise. A 404/410
   disables the channel with the reason and tells the person once by e-mail.

As for e-mail, the one window no database closes is between the webhook's 2xx and our
``sent`` commit: a crash exactly there posts that digest again when the lease ends.

The POST goes through aiohttp with the fetcher's :class:`GuardedResolver`, so every address a
webhook's name resolves to is checked by the feeds' address policy at connect time (and the URL
itself again before each POST); redirects are not followed. No Slack or Teams SDK is needed: an
incoming webhook is one JSON POST, and aiohttp is already what every outbound request uses
(apprise would add ~100 services we do not use and hide the status and ``Retry-After`` this
loop needs; slack-sdk's WebhookClient covers Slack only).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import Engine

from curation.channels.addresses import check_webhook_url
from curation.channels.cadence import sends_on_day
from curation.channels.content import compose
from curation.channels.notify import tell_disabled
from curation.channels.outcomes import FAILED, RETRY, SENT, Outcome, judge
from curation.channels.sealing import UrlSeal
from curation.channels.slack import slack_payload
from curation.channels.teams import teams_payload
from curation.clock import utcnow
from curation.digest.view import DigestView
from curation.errors import CurationError
from curation.ingest.fetch import GuardedResolver, _find_refusal
from curation.ingest.netpolicy import AddressPolicy
from curation.ingest.schedule import retry_after
from curation.mail.tokens import load_secret
from curation.mail.transport import Transport, transport_from_settings
from curation.people.records import PersonRecord
from curation.settings import Settings
from curation.storage.channels import (
    WEBHOOK_KINDS,
    ChannelDeliveryRows,
    ChannelRecord,
    ChannelStore,
    Claimed,
)
from curation.storage.people import PeopleStore

log = logging.getLogger(__name__)
PAYLOADS = {"slack": slack_payload, "teams": teams_payload}


@dataclass(frozen=True, slots=True)
class ChannelReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: int = 0  # channels disabled in this run (webhook gone)
    skipped: int = 0  # rows recorded off-cadence, or waiting for a disabled channel

    def line(self) -> str:
        return (
            f"{self.sent} posted, {self.retrying} to retry, {self.failed} failed,"
            f" {self.disabled} channels disabled, {self.skipped} skipped"
        )


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None
    error: str
    retry_after: float | None = None


def deliver_channels(
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    *,
    transport: Transport | None = None,
    kinds: Sequence[str] = WEBHOOK_KINDS,
) -> ChannelReport:
    """Record, claim and post every due chat post at ``now``, each once. ``transport``: for the
    e-mail telling a person a webhook was disabled (the settings' transport when None);
    ``kinds``: post to channels of these kinds only (a job lane per kind)."""
    now = now or utcnow()
    rows = ChannelDeliveryRows(engine)
    _, off_cadence = rows.record_new(sends_on_day)
    skipped = off_cadence + rows.settle_disabled(now)
    ids = rows.due(now, kinds)
    if not ids:
        return ChannelReport(skipped=skipped)
    run = _Run(engine, settings, now, transport)
    try:
        counts = asyncio.run(run.post_all(ids))
    finally:
        run.close()
    report = ChannelReport(
        sent=counts[SENT],
        retrying=counts[RETRY],
        failed=counts[FAILED],
        disabled=run.disabled,
        skipped=skipped,
    )
    log.info("chat channels: %s", report.line())
    return report


class _Run:
    """One delivery pass: its caches, its HTTP session and its clock."""

    def __init__(
        self, engine: Engine, settings: Settings, now: datetime, transport: Transport | None
    ) -> None:
        self.settings = settings
        self.now = now
        self.rows = ChannelDeliveryRows(engine)
        self.people = PeopleStore(engine)
        self.policy = AddressPolicy.from_setting(settings.fetch_allow_hosts)
        self.secret = load_secret(settings)
        self.channels = ChannelStore(engine, UrlSeal(lambda: self.secret))
        self._transport = transport
        self._own_transport = transport is None
        self._channel_cache: dict[int, ChannelRecord | None] = {}
        self._person_cache: dict[int, PersonRecord] = {}
        self._started = time.monotonic()
        self.disabled = 0

    def clock(self) -> datetime:
        """``now`` as given, moved on by the time this pass has taken."""
        return self.now + timedelta(seconds=time.monotonic() - self._started)

    def close(self) -> None:
        if self._own_transport and self._transport is not None:
            self._transport.close()

    async def post_all(self, ids: list[int]) -> dict[str, int]:
        counts = {SENT: 0, RETRY: 0, FAILED: 0}
        s = self.settings
        connector = aiohttp.TCPConnector(
            limit=s.channel_concurrency, resolver=GuardedResolver(self.policy)
        )
        timeout = aiohttp.ClientTimeout(total=s.channel_timeout, connect=s.fetch_connect_timeout)
        slots = asyncio.Semaphore(s.channel_concurrency)
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": s.fetch_user_agent},
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        ) as session:

            async def one(delivery_id: int) -> None:
                async with slots:
                    state = await self._post_one(session, delivery_id)
                if state is not None:
                    counts[state] += 1

            # each row is claimed inside its slot, just before its POST: leases stay short
            await asyncio.gather(*(one(delivery_id) for delivery_id in ids))
        return counts

    async def _post_one(self, session: aiohttp.ClientSession, delivery_id: int) -> str | None:
        lease = timedelta(minutes=self.settings.channel_lease_minutes)
        claimed = self.rows.claim(delivery_id, now=self.now, lease_until=self.clock() + lease)
        if claimed is None:
            return None  # another run has it
        attempts = claimed.attempts + 1
        try:
            channel, person, body = self._prepare(claimed)
        except CurationError as exc:  # refused address, channel or digest gone: for good
            return self._record(claimed, attempts, Outcome(FAILED, exc.detail))
        except Exception as exc:  # noqa: BLE001 - a bug or an unreadable row: recorded, batch goes on
            log.exception("chat post %s could not be prepared", delivery_id)
            return self._record(claimed, attempts, Outcome(FAILED, f"not posted: {exc!r}"))
        answer = await self._post(session, channel.url or "", body)
        outcome = judge(answer.status, answer.error, answer.retry_after, attempts, self.settings)
        state = self._record(claimed, attempts, outcome)
        if outcome.disable and self.channels.disable(channel.id, outcome.error or answer.error):
            self.disabled += 1
            log.warning("channel %s disabled: %s", channel.id, outcome.error)
            await asyncio.to_thread(self._tell, person, channel, outcome.error or answer.error)
        return state

    def _prepare(self, claimed: Claimed) -> tuple[ChannelRecord, PersonRecord, dict]:
        channel = self._channel(claimed.channel_id)
        if channel is None or not channel.url:
            raise CurationError("the channel no longer exists, or its URL cannot be read")
        check_webhook_url(self.policy, channel.url)  # the policy may have changed since
        found = self.rows.payload(claimed.digest_id)
        if found is None:
            raise CurationError("the digest no longer exists")
        person_id, payload = found
        person = self._person_cache.get(person_id) or self.people.get(person_id)
        self._person_cache[person_id] = person
        view = DigestView.from_json(payload)
        content = compose(
            view,
            person,
            base_url=self.settings.base_url,
            token_secret=self.secret,
            now=self.now,
            feedback_days=self.settings.email_feedback_link_days,
        )
        return channel, person, PAYLOADS[channel.kind](content)

    def _channel(self, channel_id: int) -> ChannelRecord | None:
        if channel_id not in self._channel_cache:
            self._channel_cache[channel_id] = self.channels.get(channel_id)
        return self._channel_cache[channel_id]

    async def _post(self, session: aiohttp.ClientSession, url: str, body: dict) -> _Answer:
        """POST once; every failure comes back as data (the URL is never in the message)."""
        try:
            async with session.post(url, json=body, allow_redirects=False) as resp:
                text = (await resp.content.read(300)).decode("utf-8", "replace").strip()
                error = f"HTTP {resp.status} {resp.reason or ''}".strip()
                if text and not 200 <= resp.status < 300:
                    error += f": {text[:200]}"
                wait = None
                if resp.status == 429:
                    wait = retry_after(resp.headers.get("Retry-After"), datetime.now(UTC))
                    if wait is not None:
                        error += f" (the service asks to wait {wait:.0f} s)"
                return _Answer(resp.status, error, wait)
        except TimeoutError:
            return _Answer(None, f"no answer within {self.settings.channel_timeout:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            refused = _find_refusal(exc)
            if refused is not None:
                return _Answer(400, refused.detail)  # refused for good: not retried
            return _Answer(None, f"could not post: {type(exc).__name__}")

    def _record(self, claimed: Claimed, attempts: int, outcome: Outcome) -> str:
        clock = self.clock()
        if outcome.state == SENT:
            self.rows.outcome(claimed.delivery_id, SENT, attempts, None, sent_at=clock)
        elif outcome.state == RETRY:
            later = clock + (outcome.delay or timedelta(0))
            self.rows.outcome(
                claimed.delivery_id, RETRY, attempts, outcome.error, next_attempt_at=later
            )
        else:
            self.rows.outcome(claimed.delivery_id, FAILED, attempts, outcome.error)
            log.warning("chat post %s failed: %s", claimed.delivery_id, outcome.error)
        return outcome.state

    def _tell(self, person: PersonRecord, channel: ChannelRecord, reason: str) -> None:
        if self._transport is None:
            self._transport = transport_from_settings(self.settings)
        tell_disabled(
            self._transport, person, channel, reason, settings=self.settings, now=self.now
        )
