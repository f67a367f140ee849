"""What a webhook's answer means for the post: a pure rule of (status, Retry-After, attempts).

- 2xx: sent.
- 429: try again after ``Retry-After`` seconds (capped at
  ``CURATION_CHANNEL_RETRY_AFTER_MAX_SECONDS``); without one, after the backoff.
- 5xx, a time-out or a dropped connection (``status`` None): try again after the backoff
  (:func:`curation.backoff.backoff_delay`: ``CURATION_CHANNEL_RETRY_BASE_SECONDS`` doubling up
  to ``CURATION_CHANNEL_RETRY_MAX_MINUTES``).
- 404 / 410: the webhook is gone: this post fails and the channel is disabled.
- any other answer (3xx, 400, 401, 403 …): this post fails for good; the channel stays.

A retry beyond ``CURATION_CHANNEL_MAX_ATTEMPTS`` fails instead ("gave up after N attempts").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from curation.backoff import backoff_delay
from curation.settings import Settings

SENT, RETRY, FAILED = "sent", "pending", "failed"
GONE = frozenset({404, 410})


@dataclass(frozen=True, slots=True)
class Outcome:
    state: str  # sent | pending (retry) | failed
    error: str | None = None
    delay: timedelta | None = None  # for a retry: wait this long
    disable: bool = False  # the webhook is gone: disable the channel


def judge(
    status: int | None, error: str, retry_after: float | None, attempts: int, settings: Settings
) -> Outcome:
    """The outcome of try number ``attempts`` (1-based) that got ``status`` (None: no answer;
    ``error`` says what happened)."""
    if status is not None and 200 <= status < 300:
        return Outcome(SENT)
    if status in GONE:
        return Outcome(FAILED, f"the webhook is gone ({error})", disable=True)
    temporary = status is None or status == 429 or status >= 500
    if not temporary:
        return Outcome(FAILED, error)
    if attempts >= settings.channel_max_attempts:
        return Outcome(FAILED, f"gave up after {attempts} attempts: {error}")
    delay = backoff_delay(
        attempts,
        timedelta(seconds=settings.channel_retry_base_seconds),
        timedelta(minutes=settings.channel_retry_max_minutes),
    )
    if status == 429 and retry_after is not None:
        delay = timedelta(seconds=min(retry_after, settings.channel_retry_after_max_seconds))
    return Outcome(RETRY, error, delay=delay)
