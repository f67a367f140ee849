"""Each source's item count (a count of its ``item_source`` rows), and the count-free page of
sources that lists of choices use (the items page's source filter); SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import event, func, select

from curation.storage.feeds import Store
from curation.storage.tables import ItemSource
from tests.helpers.store import clean_item, save


def counted(store: Store) -> dict[int, int]:
    query = select(ItemSource.source_id, func.count()).group_by(ItemSource.source_id)
    with store.engine.connect() as conn:
        return dict(conn.execute(query).all())


def test_pages_count_items_unless_asked_not_to(any_store: Store) -> None:
    a = any_store.add_source("https://a.example.org/feed").id
    b = any_store.add_source("https://b.example.org/feed").id
    c = any_store.add_source("https://c.example.org/feed").id
    save(any_store, a, clean_item("x"), clean_item("y"), clean_item("z"))
    save(any_store, b, clean_item("x"), clean_item("w"))
    full = any_store.page_sources(limit=2)
    assert [(s.id, s.item_count) for s in full.items] == [(a, 3), (b, 2)]
    rest = any_store.page_sources(limit=2, cursor=full.next_cursor)
    assert [(s.id, s.item_count) for s in rest.items] == [(c, 0)]
    assert {s.id: s.item_count for s in any_store.list_sources()} == {**counted(any_store), c: 0}

    choices = any_store.page_sources(limit=2, with_counts=False)
    assert [s.id for s in choices.items] == [a, b] and choices.next_cursor == full.next_cursor
    assert [s.item_count for s in choices.items] == [0, 0]
    assert [s.url for s in choices.items] == [s.url for s in full.items]


def test_a_page_of_choices_reads_no_item_source_row(store: Store) -> None:
    a = store.add_source("https://a.example.org/feed").id
    save(store, a, clean_item("x"), clean_item("y"))
    sent: list[str] = []
    listen = lambda *args: sent.append(args[2])  # noqa: E731 - (conn, cursor, statement, …)
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        assert store.page_sources(limit=10, with_counts=False).items[0].id == a
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    assert sent and not [s for s in sent if "item_source" in s]


def test_counting_a_sources_items_reads_the_narrow_index(store: Store) -> None:
    a = store.add_source("https://a.example.org/feed").id
    save(store, a, clean_item("x"))
    count = select(func.count()).select_from(ItemSource).where(ItemSource.source_id == a)
    with store.engine.connect() as conn:
        sql = str(count.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_item_source_source_id" in plan  # migration 0015, not (source_id, guid)
