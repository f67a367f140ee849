"""Send each recorded digest once: the delivery loop over ``digest`` rows.

A digest row is recorded (``email_status='pending'``) before anything is sent. For each due row
:func:`deliver_pending` (rows: :mod:`curation.storage.deliveries`)

1. *claims* it with one atomic ``UPDATE … SET email_status='sending' WHERE id=? AND <still
   due>``: of two runs racing for a row, exactly one changes it, and only that one sends;
2. renders it from its stored :class:`DigestView` (the same content as the API) and hands it
   to the transport;
3. marks it ``sent`` right after the server accepts it, or records what went wrong:
   a temporary failure goes back to ``pending`` with ``email_attempts`` + 1 and an
   exponential ``email_next_attempt_at`` (``failed`` after ``email_max_attempts``); a
   permanent one is ``failed`` with the reason in ``email_error``, never retried.

While a row is ``sending``, ``email_next_attempt_at`` holds the end of its *lease*. A run that
crashed leaves the row ``sending``; once the lease has passed, the next run sends it.

The one window no database can close is between the server's "250 accepted" and our "sent"
commit: a crash exactly there sends that digest again when its lease ends. It is kept as short
as one UPDATE, and the copy carries the same Message-ID, so it can be recognised downstream.

Other statuses: ``empty`` (nothing new that day: no e-mail at all) and ``skipped`` (the person
unsubscribed before it went out).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from curation.backoff import backoff_delay
from curation.clock import utcnow
from curation.digest.view import DigestView
from curation.errors import CurationError
from curation.mail.errors import TemporaryFailure, TransportUnavailable
from curation.mail.render import Renderer, make_renderer
from curation.mail.transport import Transport, transport_from_settings
from curation.settings import Settings
from curation.storage.deliveries import DeliveryRows
from curation.storage.people import PeopleStore
from curation.vocab import DeliveryStatus

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED
_LOAD_ALL_FROM = 20  # due digests from which one read of all people beats one read each


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # temporary failure: back to pending with a later next attempt
    failed: int = 0  # permanent failure, or too many temporary ones
    empty: int = 0  # nothing new: marked empty, no e-mail
    skipped: int = 0  # the person unsubscribed
    stopped: str | None = None  # why the batch stopped early (the transport was unavailable)

    def line(self) -> str:
        text = (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed,"
            f" {self.empty} empty, {self.skipped} skipped"
        )
        return f"{text}; stopped: {self.stopped}" if self.stopped else text


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """5, 10, 20 … minutes after the 1st, 2nd, 3rd … failure, at most the configured cap."""
    return backoff_delay(
        attempts,
        timedelta(minutes=settings.email_retry_base_minutes),
        timedelta(minutes=settings.email_retry_max_minutes),
    )


def deliver_pending(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    transport: Transport | None = None,
    render: Renderer | None = None,
) -> DeliveryReport:
    """Send every recorded digest that is due at ``now``, each once.

    What ``curation digests send`` and the scheduler call after building the due digests. Uses
    the transport and renderer from ``settings`` unless given; closes only its own transport.
    """
    now = now or utcnow()
    own = transport is None
    transport = transport or transport_from_settings(settings)
    try:
        return _deliver(
            engine,
            transport,
            settings=settings,
            now=now,
            render=render or make_renderer(settings, now=now),
        )
    finally:
        if own:
            transport.close()


def _deliver(
    engine: Engine,
    transport: Transport,
    *,
    settings: Settings,
    now: datetime,
    render: Renderer,
) -> DeliveryReport:
    """Send every digest that is due at ``now``, each once. The caller owns ``transport``."""
    started = time.monotonic()
    lease = timedelta(minutes=settings.email_lease_minutes)

    def clock() -> datetime:  # ``now`` as given, moved on by the time this batch has taken
        return now + timedelta(seconds=time.monotonic() - started)

    rows = DeliveryRows(engine)
    outcome = rows.outcome

    def retry(digest_id: int, attempts: int, error: str) -> str:
        """Back to pending after a delay, or failed when the attempts are used up."""
        if attempts >= settings.email_max_attempts:
            reason = f"gave up after {attempts} attempts: {error}"
            outcome(digest_id, FAILED, attempts, reason)
            log.warning("digest %s failed: %s", digest_id, reason)
            return FAILED
        later = clock() + retry_delay(attempts, settings)
        outcome(digest_id, PENDING, attempts, error, next_attempt_at=later)
        log.info("digest %s will be retried (attempt %d): %s", digest_id, attempts, error)
        return PENDING

    empty, skipped = rows.settle(now)
    ids = rows.due(now)

    people = PeopleStore(engine)
    # one read of everyone for a big batch; the claim re-checks the subscription row by row
    known = {p.id: p for p in people.all()} if len(ids) > _LOAD_ALL_FROM else {}
    counts = {SENT: 0, PENDING: 0, FAILED: 0}
    stopped: str | None = None
    for digest_id in ids:
        row = rows.claim(digest_id, now=now, lease_until=clock() + lease)
        if row is None:
            continue  # another run took it, or it changed since we listed it
        attempts = row.email_attempts
        try:
            view = DigestView.from_json(row.payload)
        except (ValueError, KeyError, TypeError) as exc:
            outcome(digest_id, FAILED, attempts, f"stored digest is unreadable: {exc!r}")
            counts[FAILED] += 1
            continue
        try:
            person = known.get(row.person_id) or people.get(row.person_id)
            message = render(view, person)
            transport.send(message, to=person.email.strip(), key=f"digest-{digest_id}")
        except TransportUnavailable as exc:
            outcome(digest_id, PENDING, attempts, exc.detail)  # not this digest's fault
            stopped = exc.detail
            log.warning("e-mail delivery stopped at digest %s: %s", digest_id, exc.detail)
            break
        except TemporaryFailure as exc:
            counts[retry(digest_id, attempts + 1, exc.detail)] += 1
        except CurationError as exc:  # PermanentFailure, or a person that no longer exists
            outcome(digest_id, FAILED, attempts + 1, exc.detail)
            counts[FAILED] += 1
            log.warning("digest %s not delivered: %s", digest_id, exc.detail)
        except Exception as exc:  # a bug, not the message: keep the batch going, retry later
            log.exception("digest %s: unexpected error while sending", digest_id)
            counts[retry(digest_id, attempts + 1, f"unexpected error: {exc!r}")] += 1
        else:
            outcome(digest_id, SENT, attempts + 1, None, sent_at=clock())
            counts[SENT] += 1
    report = DeliveryReport(
        sent=counts[SENT],
        retrying=counts[PENDING],
        failed=counts[FAILED],
        empty=empty,
        skipped=skipped,
        stopped=stopped,
    )
    if ids or empty or skipped:
        log.info("e-mail: %s", report.line())
    return report
