"""Fetch politeness: ``Retry-After`` on 429 and 503 sets a source's next attempt (both forms,
capped at 24 h, never earlier than the normal backoff)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from curation.ingest.pipeline import ingest
from curation.ingest.schedule import MAX_RETRY_AFTER, next_retry, retry_after
from curation.settings import Settings
from curation.storage.feeds import Store
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import settings_for

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
S = Settings(database_url="sqlite://", backoff_base_minutes=15, backoff_max_hours=24)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("120", NOW) == 120.0
    assert retry_after(" 3600 ", NOW) == 3600.0
    assert retry_after("Mon, 02 Nov 2026 10:00:00 GMT", NOW) == 7200.0
    assert retry_after("Mon, 02 Nov 2026 07:00:00 GMT", NOW) == 0.0  # already past
    for nonsense in (None, "", "soon", "-5", "1.5", "Mon, 99 Foo 2026"):
        assert retry_after(nonsense, NOW) is None


def test_next_retry_obeys_retry_after_within_its_cap_and_never_earlier_than_backoff() -> None:
    assert next_retry(NOW, 1, S, retry_after=7200) == NOW + timedelta(hours=2)
    # a shorter wait than the backoff does not bring the attempt earlier
    assert next_retry(NOW, 1, S, retry_after=5) == next_retry(NOW, 1, S)
    # a server cannot push a source away for longer than the cap
    assert next_retry(NOW, 1, S, retry_after=10**9) == NOW + MAX_RETRY_AFTER
    assert timedelta(hours=24) == MAX_RETRY_AFTER


def _ingest_one(store: Store, server: FeedServer, status: int, header: str) -> datetime:
    url = server.add("/busy", status=status, headers={"Retry-After": header})
    source = store.add_source(url)
    summary = ingest(store, settings_for(store), now=NOW)
    assert summary.outcomes[0].status == "error"
    assert "the server asks to wait" in (summary.outcomes[0].error or "")
    after = store.get_source(source.id).next_attempt_at
    assert after is not None
    return after


def test_429_with_seconds_sets_the_next_attempt(any_store: Store, feed_server: FeedServer) -> None:
    assert _ingest_one(any_store, feed_server, 429, "7200") == NOW + timedelta(hours=2)


def test_503_with_an_http_date_sets_the_next_attempt(
    any_store: Store, feed_server: FeedServer
) -> None:
    # the header's date is on the server's (real) clock: three hours from the real now
    header = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    after = _ingest_one(any_store, feed_server, 503, header)
    assert abs(after - (NOW + timedelta(hours=3))) < timedelta(seconds=30)


def test_a_huge_retry_after_is_capped_at_24_hours(
    any_store: Store, feed_server: FeedServer
) -> None:
    assert _ingest_one(any_store, feed_server, 429, "99999999") == NOW + timedelta(hours=24)
