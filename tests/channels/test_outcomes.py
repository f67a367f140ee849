"""What a webhook's answer means (curation/channels/outcomes.py): a pure rule."""

from __future__ import annotations

from datetime import timedelta

from curation.channels.outcomes import judge
from tests.helpers.settings import make_settings

S = make_settings(
    "sqlite://",
    channel_retry_base_seconds=60,
    channel_retry_max_minutes=10,
    channel_retry_after_max_seconds=300,
    channel_max_attempts=4,
)


def test_2xx_is_sent() -> None:
    assert judge(200, "HTTP 200", None, 1, S).state == "sent"
    assert judge(204, "HTTP 204", None, 3, S).state == "sent"


def test_gone_fails_and_disables() -> None:
    for status in (404, 410):
        outcome = judge(status, f"HTTP {status}", None, 1, S)
        assert outcome.state == "failed" and outcome.disable


def test_other_4xx_and_3xx_fail_without_disabling() -> None:
    for status in (301, 400, 401, 403):
        outcome = judge(status, f"HTTP {status}", None, 1, S)
        assert outcome.state == "failed" and not outcome.disable


def test_temporary_failures_back_off_doubling_to_the_cap() -> None:
    delays = [judge(500, "HTTP 500", None, n, S).delay for n in (1, 2, 3)]
    assert delays == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert judge(None, "no answer", None, 1, S).state == "pending"
    capped = make_settings(
        "sqlite://", channel_retry_base_seconds=600, channel_retry_max_minutes=15
    )
    assert judge(503, "HTTP 503", None, 5, capped).delay == timedelta(minutes=15)


def test_429_waits_for_retry_after_capped() -> None:
    assert judge(429, "HTTP 429", 7.0, 1, S).delay == timedelta(seconds=7)
    assert judge(429, "HTTP 429", 10_000.0, 1, S).delay == timedelta(seconds=300)
    assert judge(429, "HTTP 429", None, 1, S).delay == timedelta(seconds=60)  # no header: backoff


def test_too_many_attempts_give_up_with_the_reason() -> None:
    outcome = judge(500, "HTTP 500 Internal", None, 4, S)
    assert (
        outcome.state == "failed" and outcome.error == "gave up after 4 attempts: HTTP 500 Internal"
    )
