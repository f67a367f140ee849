"""Curators' gems on a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from curation.clock import utcnow
from curation.errors import Conflict, InvalidInput, NotFound
from curation.people.records import NewPerson
from curation.storage import gems as gems_module
from curation.storage.feeds import Store
from curation.storage.gems import GemRecord, GemStore, clean_audience
from curation.storage.items import ItemQueries
from curation.storage.people import PeopleStore
from curation.storage.tables import Gem, Item
from tests.helpers.api import NOW
from tests.helpers.store import clean_item, save


@pytest.fixture
def world(any_store: Store) -> tuple[GemStore, PeopleStore, list[int]]:
    src = any_store.add_source("https://a.example.org/feed").id
    save(any_store, src, *[clean_item(f"i{n}", title=f"Item {n}") for n in range(3)], now=NOW)
    item_ids = sorted(i.id for i in ItemQueries(any_store.engine).list().items)
    return GemStore(any_store.engine), PeopleStore(any_store.engine), item_ids


def _curator(people: PeopleStore, name: str = "Cy") -> int:
    return people.create(NewPerson(email=f"{name}@example.org", name=name, role="curator"))[0].id


def test_create_get_list_delete(world) -> None:  # noqa: ANN001
    gems, people, items = world
    cy = _curator(people)
    gem = gems.create(
        item_id=items[0],
        curator_id=cy,
        note="  Start here. ",
        audience=["New  managers", "new managers", "coaching"],
    )
    assert (gem.item_title, gem.curator_name, gem.note) == ("Item 0", "Cy", "Start here.")
    assert gem.audience == ("New managers", "coaching")
    assert gems.get(gem.id) == gem
    with pytest.raises(Conflict):
        gems.create(item_id=items[0], curator_id=cy)
    with pytest.raises(NotFound, match="item"):
        gems.create(item_id=9999, curator_id=cy)
    with pytest.raises(NotFound, match="person"):
        gems.create(item_id=items[1], curator_id=9999)

    second = gems.create(item_id=items[1], curator_id=cy)
    first_page = gems.list(limit=1)
    assert [g.id for g in first_page.items] == [second.id] and first_page.next_cursor
    assert [g.id for g in gems.list(limit=1, cursor=first_page.next_cursor).items] == [gem.id]
    assert [g.id for g in gems.list(item_id=items[0]).items] == [gem.id]
    assert gems.list(curator_id=cy + 100).items == []

    gems.delete(gem.id)
    with pytest.raises(NotFound):
        gems.get(gem.id)
    with pytest.raises(NotFound):
        gems.delete(gem.id)


def test_audience_and_note_are_checked() -> None:
    with pytest.raises(InvalidInput):
        clean_audience(["ok", "  "])
    with pytest.raises(InvalidInput, match="at most"):
        clean_audience([f"p{n}" for n in range(21)])
    with pytest.raises(InvalidInput, match="longer"):
        clean_audience(["x" * 101])


def test_note_limit(world) -> None:  # noqa: ANN001
    gems, people, items = world
    with pytest.raises(InvalidInput, match="note"):
        gems.create(item_id=items[0], curator_id=_curator(people), note="x" * 2001)


def test_deleting_the_item_or_the_curator(world, any_store: Store) -> None:  # noqa: ANN001
    gems, people, items = world
    cy, di = _curator(people, "cy"), _curator(people, "di")
    kept = gems.create(item_id=items[0], curator_id=cy)
    gone = gems.create(item_id=items[1], curator_id=di)
    people.delete(cy)
    assert gems.get(kept.id).curator_id is None and gems.get(kept.id).curator_name is None
    with any_store.engine.begin() as conn:
        conn.execute(delete(Item).where(Item.id == items[1]))
    with pytest.raises(NotFound):
        gems.get(gone.id)


def test_for_digests(world, any_store: Store) -> None:  # noqa: ANN001
    gems, people, items = world
    cy, di = _curator(people, "cy"), _curator(people, "di")
    a = gems.create(item_id=items[0], curator_id=cy, audience=["coaching"])
    b = gems.create(item_id=items[0], curator_id=di)
    c = gems.create(item_id=items[2], curator_id=cy)
    by_item = gems.gems_for_items([items[0], items[1], items[2], items[0]])
    assert {k: [g.id for g in v] for k, v in by_item.items()} == {
        items[0]: [a.id, b.id],
        items[2]: [c.id],
    }
    assert gems.gems_for_items([]) == {}

    now = utcnow()
    with any_store.engine.begin() as conn:
        conn.execute(update(Gem).where(Gem.id == a.id).values(created_at=now - timedelta(days=2)))
    assert [g.id for g in gems.recent_gems(now - timedelta(days=1))] == [b.id, c.id]
    assert [g.id for g in gems.recent_gems(now - timedelta(days=3), now - timedelta(days=1))] == [
        a.id
    ]
    assert gems.recent_gems(now + timedelta(minutes=5)) == []


def test_rows_are_read_by_position_so_the_columns_are_the_record_fields_in_order() -> None:
    """``_record`` builds a :class:`GemRecord` from its row's positions (a page of 50 gems is
    read without a mapping per row): the select's columns must stay its fields, in order."""
    names = [column.name for column in gems_module._SELECT.selected_columns]
    assert names == [f.name for f in fields(GemRecord)][: len(names)]
    assert names[-1] == "created_at"  # every field but the teams, which a second query reads
