"""People, interests, mutes, feedback and API keys on a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from curation.errors import Conflict, InvalidInput, NotFound
from curation.people.keys import KeyCache, hash_key
from curation.people.records import NewPerson
from curation.storage.feeds import FeedWrite, Store
from curation.storage.people import PeopleStore
from curation.storage.tables import Person
from tests.helpers.people import person_record
from tests.helpers.store import clean_item


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
    # the key lookup reads the row its own way: every field must match what get() returns
    assert people.authenticate(key) == person == people.get(person.id)
    assert people.authenticate(key).created_at.tzinfo is not None
    assert people.update(person.id, email_digests=False) == people.authenticate(key)
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


# ---- the API-key cache ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_key_cache_expires_is_bounded_and_ignores_lookups_older_than_a_change() -> None:
    clock = FakeClock()
    cache = KeyCache(5.0, size=2, clock=clock)
    cache.put("a", person_record(1), generation=cache.generation)
    clock.now += 4.9
    assert cache.get("a") == person_record(1)
    clock.now += 0.1
    assert cache.get("a") is None and len(cache) == 0  # expired entries are dropped

    for digest, pid in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(digest, person_record(pid), generation=cache.generation)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c").id == 3

    began = cache.generation  # a lookup starts, then a change clears the cache
    cache.clear()
    cache.put("d", person_record(4), generation=began)  # what that lookup read may be stale
    assert cache.get("d") is None and len(cache) == 0


def test_cached_keys_see_own_changes_at_once_and_other_processes_within_ttl(
    any_store: Store,
) -> None:
    clock = FakeClock()
    cached = PeopleStore(any_store.engine, key_cache=KeyCache(5.0, clock=clock))
    elsewhere = PeopleStore(any_store.engine)  # stands for the CLI or another API worker
    person, key = cached.create(NewPerson(email="c@example.org", name="C", role="curator"))
    assert cached.cached_person(key) is None  # nothing remembered before a lookup
    assert cached.authenticate(key) == person
    assert cached.cached_person(key) == person

    # changes through the caching store apply at once
    assert cached.update(person.id, role="learner").role == "learner"
    assert cached.cached_person(key) is None and cached.authenticate(key).role == "learner"
    cached.set_interests(person.id, [("python testing", 2.0)])
    assert cached.authenticate(key).interests == (("python testing", 2.0),)
    cached.set_mutes(person.id, ["crypto"])
    assert cached.authenticate(key).mutes == ("crypto",)
    new_key = cached.rotate_key(person.id)
    assert cached.authenticate(key) is None and cached.authenticate(new_key).id == person.id

    # a change made elsewhere is seen once the entry expires, never later
    elsewhere.delete(person.id)
    assert cached.authenticate(new_key) is not None  # still within the 5 s
    clock.now += 5.0
    assert cached.authenticate(new_key) is None
    assert cached.cached_person(new_key) is None  # unknown keys are not remembered

    other, other_key = cached.create(NewPerson(email="d@example.org", name="D"))
    assert cached.authenticate(other_key) == other
    cached.delete(other.id)
    assert cached.authenticate(other_key) is None


def test_names_and_emails_are_checked_by_the_domain_whichever_door(people: PeopleStore) -> None:
    """The API's schema capped names; the CLI (`people add --name`) went straight to the
    store and kept 10,000 characters. Now the store checks both on create and on update."""
    with pytest.raises(InvalidInput, match="at most 200"):
        people.create(NewPerson(email="long@example.org", name="n" * 10_000))
    with pytest.raises(InvalidInput, match="control characters"):
        people.create(NewPerson(email="ctl@example.org", name="Ada\x07"))
    record, _ = people.create(NewPerson(email="ok@example.org", name="  Ada   Lovelace "))
    assert record.name == "Ada Lovelace"
    with pytest.raises(InvalidInput, match="at most 200"):
        people.update(record.id, name="n" * 201)
    with pytest.raises(InvalidInput, match="email"):
        people.update(record.id, email="x" * 400 + "@example.org")
    assert people.get(record.id).name == "Ada Lovelace"


def test_everyone_is_read_with_their_interests_in_batches(
    people: PeopleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading everyone (the e-mail delivery of a big batch) binds their ids a batch at a
    time: one statement with every id fails beyond PostgreSQL's 65,535 parameters (100,000
    people did). Batches of 2 here, so 5 people take 3 of them, each person whole."""
    import curation.storage.people as module

    monkeypatch.setattr(module, "_IN_BATCH", 2)
    made = [
        people.create(
            NewPerson(
                email=f"p{n}@example.org",
                name=f"P{n}",
                interests=[(f"topic {n}", 1.0), ("shared", 2.0)],
                mutes=[f"mute {n}"],
            )
        )[0]
        for n in range(5)
    ]
    bound: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "FROM interest" in statement or "FROM mute" in statement:
            bound.append(len(parameters))

    event.listen(people.engine, "before_cursor_execute", count)
    try:
        everyone = {p.id: p for p in people.all()}
    finally:
        event.remove(people.engine, "before_cursor_execute", count)
    assert bound and max(bound) <= 2  # never more ids in one statement than a batch
    assert sorted(everyone) == sorted(p.id for p in made)
    for n, person in enumerate(made):
        assert everyone[person.id].interests == ((f"topic {n}", 1.0), ("shared", 2.0))
        assert everyone[person.id].mutes == (f"mute {n}",)
