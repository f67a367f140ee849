"""The collection store on SQLite and PostgreSQL: order, one place per gem, what deleting a
gem or a curator does, and the token lookup."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from curation.curate.collections import new_token
from curation.errors import Conflict, NotFound
from curation.people.records import NewPerson
from curation.records import Choice
from curation.storage.collections import CollectionStore
from curation.storage.feeds import Store
from curation.storage.gems import GemStore
from curation.storage.people import PeopleStore
from curation.storage.tables import Item
from tests.helpers.store import T0, clean_item, save


def test_order_places_and_deletions(any_store: Store) -> None:
    source = any_store.add_source("https://a.example.org/rss").id
    save(any_store, source, *(clean_item(f"k{n}") for n in range(3)))
    people = PeopleStore(any_store.engine)
    curator = people.create(NewPerson(email="c@example.org", name="C", role="curator"))[0]
    gems = GemStore(any_store.engine)
    with any_store.engine.connect() as conn:
        item_ids = conn.execute(select(Item.id).order_by(Item.id)).scalars().all()
    ids = [gems.create(item_id=i, curator_id=curator.id).id for i in item_ids]
    store = CollectionStore(any_store.engine)
    token = new_token()
    made = store.create(name="N", description="", curator_id=curator.id, token=token, now=T0)
    for gem in (ids[1], ids[2], ids[0]):
        store.add_gem(made.id, gem, now=T0)
    assert [g.id for g in store.gems(made.id)] == [ids[1], ids[2], ids[0]]
    with pytest.raises(Conflict):
        store.add_gem(made.id, ids[1], now=T0)
    with pytest.raises(NotFound):
        store.add_gem(made.id + 1000, ids[1], now=T0)
    store.remove_gem(made.id, ids[2], now=T0)
    store.add_gem(made.id, ids[2], now=T0)  # back at the end
    assert [g.id for g in store.gems(made.id)] == [ids[1], ids[0], ids[2]]
    gems.delete(ids[0])  # a deleted gem leaves every collection
    assert [g.id for g in store.gems(made.id)] == [ids[1], ids[2]]
    assert store.get(made.id).gem_count == 2
    assert store.by_token(token).id == made.id
    store.set_token(made.id, new_token(), now=T0)
    assert store.by_token(token) is None
    people.delete(curator.id)  # the collection stays, without a curator
    assert store.get(made.id).curator_id is None
    store.delete(made.id)
    with pytest.raises(NotFound):
        store.get(made.id)


def test_candidates_are_the_newest_gems_not_in_that_collection(any_store: Store) -> None:
    source = any_store.add_source("https://a.example.org/rss").id
    save(any_store, source, *(clean_item(f"c{n}", title=f"Title {n}") for n in range(5)))
    people = PeopleStore(any_store.engine)
    curator = people.create(NewPerson(email="c@example.org", name="C", role="curator"))[0]
    gems = GemStore(any_store.engine)
    with any_store.engine.connect() as conn:
        item_ids = conn.execute(select(Item.id).order_by(Item.id)).scalars().all()
    ids = [gems.create(item_id=i, curator_id=curator.id, note=f"n{i}").id for i in item_ids]
    store = CollectionStore(any_store.engine)
    one = store.create(name="One", description="", curator_id=None, token=new_token(), now=T0)
    two = store.create(name="Two", description="", curator_id=None, token=new_token(), now=T0)
    store.add_gem(one.id, ids[4], now=T0)
    store.add_gem(one.id, ids[1], now=T0)
    store.add_gem(two.id, ids[3], now=T0)  # in another collection: still a candidate for one

    choices = store.candidates(one.id, limit=2)
    assert [c.id for c in choices] == [ids[3], ids[2]]  # newest first, the held ones left out
    assert (choices[0].item_title, choices[0].note) == ("Title 3", f"n{item_ids[3]}")
    assert [c.id for c in store.candidates(one.id, limit=10)] == [ids[3], ids[2], ids[0]]
    assert [c.id for c in store.candidates(two.id, limit=10)] == [ids[4], ids[2], ids[1], ids[0]]


def test_choices_are_the_list_without_gem_counts(any_store: Store) -> None:
    store = CollectionStore(any_store.engine)
    assert store.choices() == []
    for name in ("B", "A", "C"):
        store.create(name=name, description="", curator_id=None, token=new_token(), now=T0)
    listed = store.list()
    assert [c.name for c in listed] == ["C", "A", "B"]  # newest first
    assert store.choices() == [Choice(c.id, c.name) for c in listed]
