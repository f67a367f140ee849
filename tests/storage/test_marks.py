"""Change marks on a real database (SQLite, PostgreSQL): every write that a process may
remember moves its topic's counter, in the write's own transaction, and nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from curation.people.records import NewPerson
from curation.portfolio.records import RestoreItem, SignalMark
from curation.storage.feeds import FeedWrite, Store
from curation.storage.marks import FEEDBACK, PEOPLE, bump, read_marks
from curation.storage.people import PeopleStore
from curation.storage.portfolio import PortfolioStore
from curation.storage.signin import SignInStore
from curation.storage.tables import Item
from tests.helpers.store import clean_item

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def marks(store: Store) -> tuple[int, int]:
    found = read_marks(store.engine)
    return found.get(PEOPLE, 0), found.get(FEEDBACK, 0)


def test_each_write_moves_its_own_mark_and_reads_move_none(any_store: Store) -> None:
    people = PeopleStore(any_store.engine)
    source = any_store.add_source("https://marks.example.org/rss")
    any_store.save_feeds(
        [FeedWrite(source.id, [clean_item("a"), clean_item("b")])], now=NOW, next_attempt_at=NOW
    )
    with any_store.engine.connect() as conn:
        first, second = conn.execute(select(Item.id).order_by(Item.id)).scalars().all()
    before = marks(any_store)

    person, key = people.create(NewPerson(email="m@example.org", name="M"))
    people.authenticate(key)
    people.get(person.id)
    people.reactions([person.id])
    assert marks(any_store) == before  # a new person and reads: nothing to forget

    steps = [
        (lambda: people.update(person.id, name="N"), (1, 0)),
        (lambda: people.set_interests(person.id, [("octopus", 1.0)]), (1, 0)),
        (lambda: people.set_mutes(person.id, ["crypto"]), (1, 0)),
        (lambda: people.rotate_key(person.id), (1, 0)),
        (lambda: people.record_feedback(person.id, first, "useful"), (0, 1)),
        (lambda: people.record_feedback(person.id, first, "not_useful"), (0, 1)),
        (lambda: people.record_feedback(person.id, first, "opened"), (0, 0)),
        (lambda: people.record_feedback(person.id, second, "saved"), (0, 0)),
    ]
    for write, (dp, df) in steps:
        was = marks(any_store)
        write()
        now = marks(any_store)
        assert (now[0] - was[0], now[1] - was[1]) == (dp, df), write

    signin = SignInStore(any_store.engine)
    signin.start_session(person.id, "h" * 64, now=NOW, expires_at=NOW + timedelta(hours=1))
    was = marks(any_store)
    signin.end_session("h" * 64, now=NOW)
    assert marks(any_store) == (was[0] + 1, was[1])  # a sign-out is forgotten elsewhere

    was = marks(any_store)
    restore = PortfolioStore(any_store.engine).restore
    saved_only = RestoreItem(clean_item("a"), NOW, (SignalMark("saved", NOW),), "a note", NOW)
    restore(person.id, [saved_only], shares_listed=0, now=NOW)
    assert marks(any_store) == was  # an import of saved items and notes: no ranking change
    useful = RestoreItem(clean_item("b"), NOW, (SignalMark("useful", NOW),), None, None)
    restore(person.id, [useful], shares_listed=0, now=NOW)
    assert marks(any_store) == (was[0], was[1] + 1)

    was = marks(any_store)
    people.delete(person.id)
    assert marks(any_store) == (was[0] + 1, was[1])


def test_a_bump_is_part_of_the_writing_transaction(any_store: Store) -> None:
    was = marks(any_store)
    with pytest.raises(RuntimeError), any_store.engine.begin() as conn:
        bump(conn, PEOPLE)
        raise RuntimeError("the write fails after the bump")
    assert marks(any_store) == was  # rolled back with the write
    with any_store.engine.begin() as conn:
        bump(conn, PEOPLE)
        bump(conn, FEEDBACK)
    assert marks(any_store) == (was[0] + 1, was[1] + 1)
