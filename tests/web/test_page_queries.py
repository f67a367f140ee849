"""A guard against N+1 queries on the workspace's pages: each page sends as many SQL statements
with a few rows to show as with several times more (sources, items, gems, a collection's gems).
Counted with SQLAlchemy's ``before_cursor_execute`` event on the app's real engine."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, event

from tests.helpers.api import Api
from tests.helpers.store import clean_item
from tests.helpers.web import sign_in


def grow(web: Api, curator_id: int, sources: int) -> dict[str, int]:
    """``sources`` more sources of 3 items each (a word every item holds), a gem of each first
    item, all of them in one collection; returns ids to request."""
    domain = web.app.state.domain.get()
    collection = next(iter(domain.collections.list()), None)
    if collection is None:
        collection = domain.collections.create("Reading", "", curator_id)
    for n in range(sources):
        source = web.source(title=f"Source {n}")
        key = f"{source}-{n}"
        items = web.items(
            source, [clean_item(f"{key}-{i}", text=f"pedagogy note {i}") for i in range(3)]
        )
        gem = domain.gems.create(
            item_id=items[0], curator_id=curator_id, note=f"note {n}", audience=["pedagogy"]
        )
        domain.collections.add_gem(collection.id, gem.id)
    return {"item": items[0], "collection": collection.id}


def statements(engine: Engine, get: Callable[[], object]) -> int:
    sent: list[str] = []
    listen = lambda *args: sent.append(args[2])  # noqa: E731 - (conn, cursor, statement, …)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        get()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return len(sent)


def test_each_page_sends_as_many_statements_with_more_rows(web: Api) -> None:
    curator = web.person("curator")
    sign_in(web.client, curator.key)
    engine = web.app.state.domain.get().store.engine  # the app's own

    def pages(ids: dict[str, int]) -> dict[str, int]:
        paths = [
            "/workspace/sources",
            "/workspace/items",
            "/workspace/items?q=pedagogy",
            f"/workspace/items/{ids['item']}",
            "/workspace/gems",
            "/workspace/collections",
            f"/workspace/collections/{ids['collection']}",
        ]
        for path in paths:  # first use of each: model, caches
            assert web.client.get(path).status_code == 200, path
        return {path: statements(engine, lambda p=path: web.client.get(p)) for path in paths}

    few = pages(grow(web, curator.id, 2))
    many = pages(grow(web, curator.id, 8))
    assert list(many.values()) == list(few.values()), (few, many)
    assert all(n <= 12 for n in few.values()), few
