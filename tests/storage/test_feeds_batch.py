"""The batch engine's SQLite settings (curation.storage.engine): statement journals in memory,
and the same rows, counts and search index as an engine made for requests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import FeedWrite, Store
from tests.helpers.store import T0, clean_item

_TABLES = (
    "SELECT id, dedupe_key, origin_source_id, url, title, summary_html, text, content_hash "
    "FROM item ORDER BY id",
    "SELECT id, source_id, guid, item_id FROM item_source ORDER BY id",
    "SELECT source_id, item_count FROM source_item_count ORDER BY source_id",
    "SELECT rowid FROM item_fts WHERE item_fts MATCH '\"shared words\"' ORDER BY rowid",
    "SELECT rowid FROM item_fts WHERE item_fts MATCH 'runners' ORDER BY rowid",
)


def test_batch_engines_keep_statement_journals_in_memory(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    batch, request = make_engine(sqlite_url), make_engine(sqlite_url, busy_timeout=1.0)
    with batch.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar_one() == 2  # MEMORY
    with request.connect() as conn:  # the API's engine is left as it was
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar_one() == 0
    batch.dispose()
    request.dispose()


def _stored(engine: Engine) -> list[list[tuple]]:
    with engine.connect() as conn:
        return [[tuple(row) for row in conn.exec_driver_sql(sql)] for sql in _TABLES]


def _ingest(engine: Engine) -> list[list[tuple]]:
    store = Store(engine)
    a = store.add_source("https://a.example/feed").id
    b = store.add_source("https://b.example/feed").id
    items = [clean_item(f"k{n}", text=f"shared words of runners, entry {n}") for n in range(30)]
    writes = [FeedWrite(a, items[:20]), FeedWrite(b, items[10:])]  # ten carried by both
    results = store.save_feeds(writes, now=T0, next_attempt_at=T0)
    assert [(r.new, r.linked) for r in results] == [(20, 0), (10, 10)]  # type: ignore[union-attr]
    stored = _stored(engine)
    engine.dispose()
    return stored


def test_a_batch_engine_stores_what_a_request_engine_stores(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}" for name in ("batch.db", "request.db")]
    for url in urls:
        upgrade(url)
    batch = _ingest(make_engine(urls[0]))
    request = _ingest(make_engine(urls[1], busy_timeout=5.0))
    assert batch == request
    assert batch[2] == [(1, 20), (2, 20)]  # the link counts the store keeps
    assert len(batch[3]) == len(batch[4]) == 30  # every new item is searchable
