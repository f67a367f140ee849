"""Item queries for curators on a real database (SQLite FTS5, PostgreSQL text search)."""

from __future__ import annotations

import re
from dataclasses import fields, replace
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, insert, text

from alembic import command
from curation.errors import InvalidInput, NotFound
from curation.paging import check_limit, decode_cursor, encode_cursor
from curation.records import ItemRecord
from curation.storage import items as items_module
from curation.storage.engine import alembic_config, make_engine, upgrade
from curation.storage.feeds import FeedWrite, Store
from curation.storage.items import ItemQueries, fts5_match, search_terms
from curation.storage.tables import Item
from tests.helpers.store import T0, clean_item, save


def keys(page) -> list[str]:  # noqa: ANN001
    return [i.url.rsplit("/", 1)[1] for i in page.items]


@pytest.fixture
def items(any_store: Store) -> ItemQueries:
    return ItemQueries(any_store.engine)


def test_search_follows_inserts_updates_and_deletes(any_store: Store, items: ItemQueries) -> None:
    src = any_store.add_source("https://a.example.org/feed").id
    save(any_store, src, clean_item("a", text="Spaced repetition for onboarding"))
    save(any_store, src, clean_item("b", title="Coaching conversations", text="manager skills"))
    assert keys(items.list(q="repetition")) == ["a"]
    assert keys(items.list(q="coaching")) == ["b"]  # the title is searched too
    assert keys(items.list(q="REPETITIONS onboard")) == ["a"]  # stemmed, any case

    changed = clean_item("a", text="Retrieval practice at work")._replace(content_hash="a2")
    save(any_store, src, changed, now=T0 + timedelta(hours=1))
    assert keys(items.list(q="repetition")) == []
    assert keys(items.list(q="retrieval practice")) == ["a"]

    with any_store.engine.begin() as conn:
        conn.execute(delete(Item).where(Item.url == "https://example.org/b"))
    assert keys(items.list(q="coaching")) == []


def _fts_is_consistent(store: Store) -> None:
    """FTS5's own check that the index holds exactly the content table's rows (SQLite)."""
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO item_fts(item_fts, rank) VALUES ('integrity-check', 1)"))


def test_sqlite_index_holds_each_stored_row_once_even_after_a_rollback(store: Store) -> None:
    items = ItemQueries(store.engine)
    a, b, c = (store.add_source(f"https://{n}.example.org/feed").id for n in "abc")
    # one group transaction, items shared across feeds (dedupe) and repeated GUIDs
    shared = clean_item("shared", text="mentoring circles")
    store.save_feeds(
        [
            FeedWrite(a, [clean_item("a1", text="mentoring at scale"), shared]),
            FeedWrite(b, [shared, clean_item("b1", text="peer mentoring")]),
            FeedWrite(c, []),
        ],
        now=T0,
        next_attempt_at=T0,
    )
    assert sorted(keys(items.list(q="mentoring"))) == ["a1", "b1", "shared"]
    _fts_is_consistent(store)

    # a group that fails part-way is retried feed by feed: the bad feed's rows roll back and
    # never reach the index; the good feeds' rows are indexed once
    bad = FeedWrite(999_999, [clean_item("orphan", text="mentoring lost")])  # no such source
    store.save_feeds(
        [FeedWrite(a, [clean_item("a2", text="mentoring again")]), bad],
        now=T0 + timedelta(hours=1),
        next_attempt_at=T0,
    )
    assert sorted(keys(items.list(q="mentoring"))) == ["a1", "a2", "b1", "shared"]
    _fts_is_consistent(store)

    with store.engine.begin() as conn:  # the migration 0005 left no insert trigger on item
        triggers = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'item'")
        )
        assert sorted(triggers.scalars()) == ["item_fts_ad", "item_fts_au"]


def test_hostile_queries_are_words_not_syntax(any_store: Store, items: ItemQueries) -> None:
    src = any_store.add_source("https://a.example.org/feed").id
    save(any_store, src, clean_item("a", title='The "NEAR" operator', text="title: AND OR NOT"))
    for q in ['"', "NEAR(a b)", "title:x", "a*", "(", "^x", "AND", "-", "'; DROP TABLE item;--"]:
        items.list(q=q)  # never a syntax error
    assert keys(items.list(q='"NEAR"')) == ["a"]  # quotes are part of the word, not syntax
    assert keys(items.list(q="title: AND")) == ["a"]
    assert keys(items.list(q="!!! ???")) == []  # no searchable word: nothing matches
    assert keys(items.list(q="   ")) == ["a"]  # blank: no search at all
    assert keys(items.list(q="near\x00operator")) == ["a"]


def test_fts5_terms_are_quoted() -> None:
    assert search_terms(' a "b  c* \x00d !!! ') == ["a", '"b', "c*", "d"]
    # a trailing * asks for a prefix (issue 11); anything else stays quoted text
    assert fts5_match(["a", '"b', "c*"]) == '"a" """b" "c"*'
    assert fts5_match(['x"*', "a*b"]) == '"x"""* "a*b"'
    assert len(search_terms("w " * 100)) == 20


def test_pages_by_cursor_newest_first_without_gaps(any_store: Store, items: ItemQueries) -> None:
    src = any_store.add_source("https://a.example.org/feed").id
    for n in range(5):
        save(any_store, src, clean_item(f"i{n}"))
    seen, cursor = [], None
    while True:
        page = items.list(limit=2, cursor=cursor)
        seen += keys(page)
        if page.next_cursor is None:
            break
        save(any_store, src, clean_item(f"late{len(seen)}"))  # arrivals do not shift pages
        cursor = page.next_cursor
    assert seen == ["i4", "i3", "i2", "i1", "i0"]
    assert items.list(limit=100).next_cursor is None


def test_cursor_and_limit_checks() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) is None and decode_cursor("") is None
    for forged in ("!!!", "aWQ6", "eDox", "aWQ6LTE", "aWQ6" + "OTk5" * 10, "\x00"):
        with pytest.raises(InvalidInput, match="cursor"):
            decode_cursor(forged)
    assert check_limit(1) == 1 and check_limit(100) == 100
    for bad in (0, 101, -5):
        with pytest.raises(InvalidInput, match="limit"):
            check_limit(bad)


def test_since_and_source_filters(any_store: Store, items: ItemQueries) -> None:
    a = any_store.add_source("https://a.example.org/feed").id
    b = any_store.add_source("https://b.example.org/feed").id
    save(any_store, a, clean_item("old"), now=T0 - timedelta(days=3))
    save(any_store, a, clean_item("shared"), now=T0)
    save(any_store, b, clean_item("shared"), clean_item("b-only"), now=T0 + timedelta(hours=1))
    assert keys(items.list(since=T0)) == ["b-only", "shared"]
    assert keys(items.list(since=T0 + timedelta(minutes=1))) == ["b-only"]
    assert keys(items.list(source_id=b)) == ["b-only", "shared"]  # carried by b, first seen in a
    assert keys(items.list(source_id=a)) == ["shared", "old"]
    with pytest.raises(NotFound):
        items.list(source_id=999)


def test_get_names_origin_and_every_source(any_store: Store, items: ItemQueries) -> None:
    a = any_store.add_source("https://a.example.org/feed", title="A").id
    b = any_store.add_source("https://b.example.org/feed", title="B").id
    save(any_store, a, clean_item("x", text="body"))
    save(any_store, b, clean_item("x"))
    item_id = items.list().items[0].id
    got = items.get(item_id)
    assert (got.source.id, got.source.title) == (a, "A")
    assert [(s.id, s.title) for s in got.sources] == [(a, "A"), (b, "B")]
    assert got.summary == "<p>body</p>" and got.content == ""
    any_store.delete_source(a)
    after = items.get(item_id)
    assert after.source is None and [s.id for s in after.sources] == [b]
    assert items.exists(item_id) and not items.exists(item_id + 1)
    with pytest.raises(NotFound):
        items.get(item_id + 1)


def test_a_list_without_sources_still_names_the_origin(
    any_store: Store, items: ItemQueries
) -> None:
    """``with_sources=False`` leaves ``sources`` unread and everything else as it was, the
    origin's title included (read on its own then, or joined in SQLite's search statement),
    when searching or not."""
    a = any_store.add_source("https://a.example.org/feed", title="A").id
    b = any_store.add_source("https://b.example.org/feed", title="B").id
    save(any_store, a, clean_item("x", text="shared words"), clean_item("y", text="words"))
    save(any_store, b, clean_item("x"))
    for query in (None, "words"):
        full = items.list(q=query).items
        brief = items.list(q=query, with_sources=False).items
        assert [r.sources for r in brief] == [(), ()] and all(r.sources for r in full)
        assert [replace(r, sources=()) for r in full] == brief
        assert {(r.source.id, r.source.title) for r in brief} == {(a, "A")}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_items_stored_before_migration_0003_are_searchable(fresh_url: str) -> None:
    upgrade(fresh_url, "0002")
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(
            insert(Item.__table__).values(
                dedupe_key="k",
                title="Older article",
                summary_html="",
                content_html="",
                text="about mentoring",
                first_seen_at=T0,
                content_hash="h",
            )
        )
    upgrade(fresh_url)
    assert [i.title for i in ItemQueries(engine).list(q="mentoring").items] == ["Older article"]
    command.downgrade(alembic_config(fresh_url), "0002")  # search structures go cleanly
    upgrade(fresh_url)
    assert len(ItemQueries(engine).list(q="mentoring").items) == 1
    engine.dispose()


def test_postgres_search_uses_the_gin_index(pg_url: str) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    query = ItemQueries(engine)
    compiled = (
        query._matches(["mentoring"])  # the same expression the list query uses
        .compile(engine, compile_kwargs={"literal_binds": True})
        .string
    )
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0] for row in conn.execute(text(f"EXPLAIN SELECT id FROM item WHERE {compiled}"))
        )
    assert "ix_item_fts" in plan, plan
    engine.dispose()


def test_search_pages_best_first_then_newest_alike_with_and_without_filters(
    any_store: Store, items: ItemQueries
) -> None:
    """Unfiltered SQLite searches rank and page inside the FTS query; filtered ones rank every
    match after the join: both give the same order, page by page, without gaps or repeats."""
    src = any_store.add_source("https://a.example.org/feed").id
    for n in range(7):  # as long as each other; r6 says hockey most often; r0-r2 tie
        said = max(1, n - 1)
        save(any_store, src, clean_item(f"r{n}", text="hockey " * said + "rink " * (8 - said)))
    save(any_store, src, clean_item("other", text="curling"))

    def pages(**filters: object) -> list[list[str]]:
        out, cursor = [], None
        for _ in range(10):
            page = items.list(q="hockey", limit=3, cursor=cursor, **filters)
            out.append(keys(page))
            cursor = page.next_cursor
            if cursor is None:
                return out
        raise AssertionError("the pages never ended")

    plain = pages()
    assert plain == [["r6", "r5", "r4"], ["r3", "r2", "r1"], ["r0"]]
    assert pages(since=T0 - timedelta(days=1)) == plain  # the filtered path
    assert pages(source_id=src) == plain
    assert keys(items.list(q="hockey curling")) == []


def test_sqlite_search_ranks_only_a_page_inside_the_fts_query(store: Store) -> None:
    items = ItemQueries(store.engine)
    src = store.add_source("https://a.example.org/feed").id
    save(store, src, clean_item("a", text="hockey"))
    sent: list[str] = []
    listen = lambda *args: sent.append(args[2])  # noqa: E731 - (conn, cursor, statement, …)
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        assert keys(items.list(q="hockey", limit=5)) == ["a"]
        assert keys(items.list(q="hockey", limit=5, since=T0 - timedelta(days=1))) == ["a"]
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    searches = [s for s in sent if "MATCH" in s]
    inner = re.compile(r"\(SELECT [^()]*MATCH[^()]*ORDER BY rank[^()]*LIMIT[^()]*\)", re.S)
    assert inner.search(searches[0])  # the page is kept in the FTS table's own query
    assert not inner.search(searches[1])  # filters need every match joined


def test_sqlite_search_without_sources_is_one_statement_origin_included(store: Store) -> None:
    """The workspace's search (no filters, no ``sources``) reads each result's origin source
    in its one statement; an origin deleted since reads as none, another carrier or not."""
    items = ItemQueries(store.engine)
    a = store.add_source("https://a.example.org/feed", title="A").id
    b = store.add_source("https://b.example.org/feed", title="B").id
    save(store, a, clean_item("x", text="hockey hockey"), clean_item("y", text="hockey"))
    save(store, b, clean_item("z", text="hockey"), clean_item("x"))
    store.delete_source(a)
    save(store, b, clean_item("w", text="curling hockey"))
    sent: list[str] = []
    listen = lambda *args: sent.append(args[2])  # noqa: E731 - (conn, cursor, statement, …)
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        page = items.list(q="hockey", limit=3, with_sources=False)
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    assert len(sent) == 1
    full = items.list(q="hockey", limit=3)
    assert [replace(r, sources=()) for r in full.items] == page.items
    assert page.next_cursor == full.next_cursor
    origins = {r.url.rsplit("/", 1)[1]: r.source for r in page.items}
    assert origins["x"] is None  # its origin was deleted (B carries it still)
    assert origins["z"] is not None and (origins["z"].id, origins["z"].title) == (b, "B")


def test_rows_are_read_by_position_so_the_columns_are_the_record_fields_in_order() -> None:
    """``ItemQueries._records`` builds each record from its row's positions (a page of results
    is read without a mapping per row): the columns before the origin source's id must stay
    an :class:`ItemRecord`'s first fields, in the same order."""
    names = [column.key for column in items_module._LIST_COLUMNS]
    assert names[items_module._ORIGIN] == "origin_source_id"
    first = [f.name for f in fields(ItemRecord)][: items_module._ORIGIN]
    assert names[: items_module._ORIGIN] == first


def test_extra_columns_reach_their_named_fields(any_store: Store, items: ItemQueries) -> None:
    a = any_store.add_source("https://a.example.org/feed", title="A").id
    save(any_store, a, clean_item("x", text="plain words")._replace(content_html="<p>rich</p>"))
    item_id = items.list().items[0].id
    with_text = items.records([item_id], with_text=True)[item_id]
    assert (with_text.text, with_text.content) == ("plain words", None)
    got = items.get(item_id)
    assert (got.content, got.text) == ("<p>rich</p>", None)
    assert (got.source.id, got.source.title) == (a, "A")
