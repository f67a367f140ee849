"""People, interests, mutes, feedback and API keys on a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from curation.errors import Conflict, InvalidInput, NotFound
from curation.models import Person
from curation.people import NewPerson, PeopleStore, hash_key
from curation.store import FeedWrite, Store
from tests.test_store_helpers import clean_item


@pytest.fixture
def people(any_store: Store) -> PeopleStore:
    return PeopleStore(any_store.engine)


def test_create_returns_key_once_and_stores_only_its_hash(people: PeopleStore) -> None:
    person, key = people.create(
        NewPerson(
            email="ada@example.org",
            name="Ada",
            interests=[("learning analytics", 2.0), ("python testing", 1.0)],
            mutes=["crypto"],
        )
    )
    assert key.startswith("cur_") and len(key) > 40
    assert person.interests == (("learning analytics", 2.0), ("python testing", 1.0))
    assert person.mutes == ("crypto",)
    with people.engine.connect() as conn:
        stored = conn.execute(select(Person.api_key_hash)).scalar_one()
    assert stored == hash_key(key) and key not in stored
    assert people.authenticate(key).id == person.id
    assert people.authenticate(key + "x") is None
    assert people.authenticate("") is None


def test_duplicate_email_and_bad_fields(people: PeopleStore) -> None:
    people.create(NewPerson(email="a@example.org", name="A"))
    with pytest.raises(Conflict):
        people.create(NewPerson(email="a@example.org", name="B"))
    with pytest.raises(InvalidInput, match="role"):
        people.create(NewPerson(email="b@example.org", name="B", role="root"))
    with pytest.raises(InvalidInput, match="time zone"):
        people.create(NewPerson(email="c@example.org", name="C", timezone="Mars/Olympus"))
    with pytest.raises(InvalidInput, match="digest_hour"):
        people.create(NewPerson(email="d@example.org", name="D", digest_hour=24))
    with pytest.raises(InvalidInput, match="weight"):
        people.create(NewPerson(email="e@example.org", name="E", interests=[("x", 0)]))
    assert people.count() == 1  # nothing half-created


def test_interests_and_mutes_are_replaced_as_a_whole(people: PeopleStore) -> None:
    person, _ = people.create(NewPerson(email="a@example.org", name="A", interests=[("old", 1)]))
    updated = people.set_interests(person.id, [("new topic", 1.5), ("New  Topic", 3.0)])
    assert updated.interests == (("New Topic", 3.0),)  # same phrase, case-insensitively: last wins
    with pytest.raises(InvalidInput):
        people.set_mutes(person.id, ["  "])
    assert people.set_mutes(person.id, ["sports"]).mutes == ("sports",)
    with pytest.raises(NotFound):
        people.set_interests(9999, [("x", 1)])


def test_update_refuses_unknown_fields_and_delete(people: PeopleStore) -> None:
    person, key = people.create(NewPerson(email="a@example.org", name="A"))
    assert people.update(person.id, name="Ada", digest_hour=6).digest_hour == 6
    with pytest.raises(InvalidInput, match="api_key_hash"):
        people.update(person.id, api_key_hash="x")
    people.delete(person.id)
    with pytest.raises(NotFound):
        people.get(person.id)
    assert people.authenticate(key) is None


def test_feedback_latest_polarity_wins(people: PeopleStore, any_store: Store) -> None:
    from datetime import UTC, datetime

    any_store.add_source("https://feed.example.org/rss")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    any_store.save_feeds([FeedWrite(1, [clean_item("a")])], now=now, next_attempt_at=now)
    person, _ = people.create(NewPerson(email="a@example.org", name="A"))
    people.record_feedback(person.id, 1, "useful")
    people.record_feedback(person.id, 1, "opened")
    people.record_feedback(person.id, 1, "not_useful")
    reactions = people.reactions()[person.id]
    assert [r.signal for r in reactions] == ["not_useful"]
    with pytest.raises(NotFound):
        people.record_feedback(person.id, 999, "useful")
    with pytest.raises(InvalidInput):
        people.record_feedback(person.id, 1, "meh")
