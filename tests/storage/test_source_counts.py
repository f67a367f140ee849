"""Each source's item count (a count of its ``item_source`` rows), and the count-free page of
sources that lists of choices use (the items page's source filter); SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, event, func, insert, select

from alembic import command
from curation.storage.engine import alembic_config, make_engine, upgrade
from curation.storage.feeds import Store
from curation.storage.tables import Item, ItemSource, Source, SourceItemCount
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


def test_a_sources_links_are_found_by_the_unique_index(store: Store) -> None:
    """Migration 0022 dropped the narrow ``(source_id)`` index: lookups by source (a feed's
    links, the cascade of a deleted source) go through ``(source_id, guid)``, not a scan."""
    a = store.add_source("https://a.example.org/feed").id
    save(store, a, clean_item("x"))
    with store.engine.connect() as conn:
        plan = " ".join(
            str(r)
            for r in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT item_id FROM item_source WHERE source_id = {a}"
            )
        )
        indexes = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'item_source'"
        ).scalars()
        assert "ix_item_source_source_id" not in set(indexes)
    assert "USING INDEX sqlite_autoindex_item_source_1 (source_id=?)" in plan, plan


def stored_counts(store: Store) -> dict[int, int]:
    """``source_item_count`` as the triggers of migration 0018 keep it (zero rows left out)."""
    query = select(SourceItemCount.source_id, SourceItemCount.item_count)
    with store.engine.connect() as conn:
        return {s: n for s, n in conn.execute(query).all() if n}


def test_the_kept_counts_agree_with_a_recount_through_inserts_and_deletes(
    any_store: Store,
) -> None:
    """Links added (one feed's batch, two feeds sharing an item), an item deleted (its links go
    by cascade), a source deleted: after each, the kept counts are a recount's."""
    a = any_store.add_source("https://a.example.org/feed").id
    b = any_store.add_source("https://b.example.org/feed").id
    save(any_store, a, *(clean_item(f"a{i}") for i in range(7)))
    save(any_store, b, clean_item("a0"), clean_item("b1"))  # a0 carried by both
    assert stored_counts(any_store) == counted(any_store) == {a: 7, b: 2}
    assert any_store.get_source(a).item_count == 7

    with any_store.engine.begin() as conn:
        gone = (
            conn.execute(
                select(ItemSource.item_id).where(ItemSource.source_id == b).order_by(ItemSource.id)
            )
            .scalars()
            .first()
        )
        conn.execute(delete(Item).where(Item.id == gone))
    assert stored_counts(any_store) == counted(any_store) == {a: 6, b: 1}

    any_store.delete_source(a)
    assert stored_counts(any_store) == counted(any_store) == {b: 1}
    assert [(s.id, s.item_count) for s in any_store.list_sources()] == [(b, 1)]
    save(any_store, b, clean_item("b2"), clean_item("b1"))  # b1 is already there
    assert stored_counts(any_store) == counted(any_store) == {b: 2}


def test_the_delete_trigger_exists_at_head(sqlite_url: str) -> None:
    """A later migration that rebuilds ``item_source`` on SQLite drops its triggers with the
    old table: it must create the delete trigger again. Inserts are counted by the store
    (migration 0022), so no insert trigger is left to count them twice."""
    upgrade(sqlite_url)
    with make_engine(sqlite_url).connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'item_source'"
        ).scalars()
        assert sorted(found) == ["item_source_count_delete"]


def test_a_downgrade_below_0022_puts_the_insert_trigger_back(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    command.downgrade(alembic_config(sqlite_url), "0021")
    store = Store(make_engine(sqlite_url))
    with store.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'item_source'"
        ).scalars()
        assert sorted(found) == ["item_source_count_delete", "item_source_count_insert"]
    a = store.add_source("https://a.example.org/feed").id
    with store.engine.begin() as conn:  # at 0021 the trigger counts links, whoever adds them
        _insert_linked(conn, a, "k", datetime.now(UTC))
    assert stored_counts(store) == counted(store) == {a: 1}


def _insert_linked(conn: Connection, source: int, key: str, now: datetime) -> None:
    """An item and its link to ``source``, inserted without the store (as older code did)."""
    item = conn.execute(
        insert(Item).values(
            dedupe_key=key,
            title=key,
            summary_html="",
            content_html="",
            text="",
            content_hash="h",
            first_seen_at=now,
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(ItemSource).values(source_id=source, guid=key, item_id=item, first_seen_at=now)
    )


def test_upgrading_a_database_with_items_fills_the_counts(sqlite_url: str) -> None:
    upgrade(sqlite_url, "0017")
    store = Store(make_engine(sqlite_url))
    with store.engine.begin() as conn:  # rows written at 0017 (no count table yet)
        now = datetime.now(UTC)
        a, b = (
            conn.execute(
                insert(Source).values(url=url, status="new", created_at=now, active=True)
            ).inserted_primary_key[0]
            for url in ("https://a.example.org/feed", "https://b.example.org/feed")
        )
        for n, source in enumerate((a, a, a, b)):
            _insert_linked(conn, source, f"k{n}", now)
    upgrade(sqlite_url)
    assert stored_counts(store) == counted(store) == {a: 3, b: 1}
    save(store, b, clean_item("new"))
    assert store.get_source(b).item_count == 2


def test_choices_are_the_first_sources_by_id_with_their_title_and_category(
    any_store: Store,
) -> None:
    a = any_store.add_source("https://a.example.org/feed", title="A", category="Learning").id
    b = any_store.add_source("https://b.example.org/feed").id
    any_store.add_source("https://c.example.org/feed")
    choices = any_store.source_choices(limit=2)
    assert [(c.id, c.title, c.category) for c in choices] == [(a, "A", "Learning"), (b, None, None)]
