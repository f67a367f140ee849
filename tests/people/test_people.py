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
from curation.storage.tables import Item, Person
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


def test_key_cache_answers_while_the_mark_stands_and_forgets_when_it_moves() -> None:
    clock = FakeClock()
    cache = KeyCache(5.0, size=2, clock=clock, longest=60.0)
    reads: list[int] = []
    mark = 7

    def read() -> int:
        reads.append(mark)
        return mark

    cache.put("a", person_record(1), stamp=cache.stamp())  # no mark read yet: not kept
    assert cache.get("a") is None and len(cache) == 0
    cache.refresh(read)
    assert reads == [7] and cache.fresh()
    cache.put("a", person_record(1), stamp=cache.stamp())
    assert cache.get("a") == person_record(1)
    cache.refresh(read)  # fresh: no read
    assert reads == [7]

    clock.now += 5.0  # the mark is as old as the check: nothing answers until it is read again
    assert not cache.fresh() and cache.get("a") is None
    cache.refresh(read)  # unchanged: what was remembered answers again, with no lookup
    assert reads == [7, 7] and cache.get("a") == person_record(1)

    mark = 8  # moved (a change elsewhere): everything is forgotten at the next read
    clock.now += 5.0
    cache.refresh(read)
    assert cache.get("a") is None and len(cache) == 0

    stamp = cache.stamp()  # a lookup starts, then a newer mark is read: it may be stale
    mark = 9
    clock.now += 5.0
    cache.refresh(read)
    cache.put("b", person_record(2), stamp=stamp)
    assert cache.get("b") is None

    cache.put("b", person_record(2), stamp=cache.stamp())
    mark = 8  # an older read that finishes late neither takes the mark back nor renews it
    clock.now += 5.0
    cache.refresh(read)
    assert cache.stamp()[1] == 9 and not cache.fresh() and cache.get("b") is None
    mark = 9
    cache.refresh(read)
    assert cache.get("b") == person_record(2)

    for digest, pid in (("c", 3), ("d", 4)):  # the size bound: least recently used goes
        cache.put(digest, person_record(pid), stamp=cache.stamp())
    assert len(cache) == 2 and cache.get("b") is None and cache.get("d").id == 4

    began = cache.stamp()  # a lookup starts, then a change in this process clears the cache
    cache.clear()
    cache.put("e", person_record(5), stamp=began)
    assert cache.get("e") is None and len(cache) == 0

    cache.put("f", person_record(6), stamp=cache.stamp())  # kept at most ``longest``
    for _ in range(12):
        clock.now += 5.0
        cache.refresh(read)
    assert cache.get("f") is None


def test_cached_keys_see_own_changes_at_once_and_other_processes_within_the_check(
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

    # nothing changed about people (feedback is another mark): however long the key is used,
    # each check costs one query of the change marks, never a lookup of the key
    item = _an_item(any_store)
    elsewhere.record_feedback(person.id, item, "useful")
    statements: list[str] = []

    def listen(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(any_store.engine, "before_cursor_execute", listen)
    try:
        for _ in range(4):
            clock.now += 5.0
            assert cached.cached_person(new_key) is None  # the check is due
            assert cached.authenticate(new_key).id == person.id
            assert cached.cached_person(new_key).id == person.id
    finally:
        event.remove(any_store.engine, "before_cursor_execute", listen)
    assert len(statements) == 4 and all("change_marks" in s for s in statements), statements

    # a change made elsewhere is seen at the next check, never later
    elsewhere.update(person.id, name="Renamed")
    assert cached.authenticate(new_key).name == "C"  # still within the 5 s
    clock.now += 5.0
    assert cached.authenticate(new_key).name == "Renamed"
    elsewhere.delete(person.id)
    clock.now += 5.0
    assert cached.authenticate(new_key) is None
    assert cached.cached_person(new_key) is None  # unknown keys are not remembered

    other, other_key = cached.create(NewPerson(email="d@example.org", name="D"))
    assert cached.authenticate(other_key) == other
    cached.delete(other.id)
    assert cached.authenticate(other_key) is None


def _an_item(store: Store) -> int:
    source = store.add_source("https://mark.example.org/rss")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    store.save_feeds([FeedWrite(source.id, [clean_item("m")])], now=now, next_attempt_at=now)
    with store.engine.connect() as conn:
        return conn.execute(select(Item.id)).scalars().first()


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
