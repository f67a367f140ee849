"""The digest's day (issue 11): a preview before the hour records nothing, an empty day never
blocks a later build that day, recommendations stay useful after a digest, lists are best
first, and an empty list says when the reason is not a quiet day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from curation.people.records import NewPerson
from curation.services import Curation, make_curation
from curation.settings import Settings
from curation.storage.feeds import Store
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import settings_for

# 08:00 UTC: Ada (digest hour 7) is due, Bob (digest hour 12) is not yet
MORNING = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _curation(store: Store) -> tuple[Curation, Settings]:
    settings = settings_for(store, digest_max_items=5)
    return make_curation(settings, engine=store.engine), settings


def _ingest(c: Curation, server: FeedServer, path: str, prefix: str, now: datetime) -> None:
    c.store.add_source(server.add(path, body=rss(path, topic_items(prefix, 3))))
    c.ingest(now=now)
    c.refit(now=now)


def test_preview_before_the_hour_records_nothing(store: Store, feed_server: FeedServer) -> None:
    c, _ = _curation(store)
    _ingest(c, feed_server, "/a", "a", MORNING - timedelta(hours=1))
    bob, _ = c.people.create(
        NewPerson(
            email="bob@example.org", name="Bob", digest_hour=12, interests=[("python testing", 1)]
        )
    )
    preview = c.digests.today(bob, MORNING)
    assert preview.status == "preview" and preview.item_count > 0
    assert preview.ready_at == datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert c.digests.rows.get(bob.id, "2026-11-02") is None  # nothing recorded
    assert c.digests.history(bob.id) == []
    at_noon = c.digests.today(bob, MORNING.replace(hour=12))
    assert at_noon.status == "recorded" and at_noon.item_count == preview.item_count
    assert c.digests.rows.get(bob.id, "2026-11-02") is not None


def test_an_empty_day_is_filled_when_items_arrive(store: Store, feed_server: FeedServer) -> None:
    """The newcomer's path: ask for the digest before the first ingest, then ingest."""
    c, _ = _curation(store)
    ada, _ = c.people.create(
        NewPerson(email="ada@example.org", name="Ada", interests=[("python testing", 1)])
    )
    empty = c.digests.today(ada, MORNING)
    assert empty.status == "recorded" and empty.item_count == 0
    assert empty.note is not None and "model" in empty.note  # says why, not just "nothing"

    _ingest(c, feed_server, "/late", "late", MORNING + timedelta(minutes=5))
    later = MORNING + timedelta(minutes=10)
    filled = c.digests.today(ada, later)
    assert filled.status == "recorded" and filled.item_count > 0 and filled.id == empty.id
    assert filled.note is None
    assert c.digests.today(ada, later + timedelta(minutes=1)) == filled  # recorded: stable
    run = c.run_digests(later + timedelta(minutes=2))
    assert run.delivery.sent == 1  # the filled day is e-mailed once
    assert c.run_digests(later + timedelta(minutes=3)).delivery.sent == 0


def test_the_scheduler_fills_an_empty_day_too(store: Store, feed_server: FeedServer) -> None:
    c, _ = _curation(store)
    ada, _ = c.people.create(
        NewPerson(email="ada@example.org", name="Ada", interests=[("python testing", 1)])
    )
    assert c.run_digests(MORNING).built == 1  # recorded empty: no e-mail
    assert c.digests.for_date(ada.id, "2026-11-02").item_count == 0
    assert c.run_digests(MORNING + timedelta(minutes=1)).built == 0  # nothing new: no work
    _ingest(c, feed_server, "/late", "late", MORNING + timedelta(minutes=5))
    run = c.run_digests(MORNING + timedelta(minutes=10))
    assert run.built == 1 and run.delivery.sent == 1
    assert c.digests.for_date(ada.id, "2026-11-02").item_count > 0


def test_recommendations_after_a_digest_and_best_first(
    store: Store, feed_server: FeedServer
) -> None:
    c, _ = _curation(store)
    _ingest(c, feed_server, "/a", "a", MORNING - timedelta(hours=1))
    ada, _ = c.people.create(
        NewPerson(
            email="ada@example.org",
            name="Ada",
            interests=[("python testing", 1), ("team leadership", 1)],
        )
    )
    assert c.digests.today(ada, MORNING).item_count > 0
    found = c.digests.recommendations(ada, now=MORNING + timedelta(minutes=1), limit=10)
    assert found.items, "a digest must not empty the recommendations"
    scores = [r.score for r in found.items]
    assert scores == sorted(scores, reverse=True)


def test_no_model_is_said_not_silent(store: Store) -> None:
    c, _ = _curation(store)
    ada, _ = c.people.create(
        NewPerson(email="ada@example.org", name="Ada", interests=[("python testing", 1)])
    )
    found = c.digests.recommendations(ada, now=MORNING)
    assert found.items == [] and found.note is not None and "ingest" in found.note
    nobody, _ = c.people.create(NewPerson(email="n@example.org", name="N"))
    assert "interests" in (c.digests.recommendations(nobody, now=MORNING).note or "")
