"""The SQLite search index's merge settings (migration 0023): FTS5 keeps them, a downgrade puts
FTS5's defaults back, and they change nothing of what a search finds or in which order."""

from __future__ import annotations

import random
from pathlib import Path

from alembic import command
from curation.storage.engine import alembic_config, make_engine, upgrade
from curation.storage.feeds import FeedWrite, Store
from curation.storage.items import ItemQueries
from tests.helpers.store import T0, clean_item

MIB = 2**20


def fts_config(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT k, v FROM item_fts_config").all()
    return {k: v for k, v in rows if k in ("automerge", "hashsize")}


def test_head_merges_less_often_and_a_downgrade_restores_fts5s_defaults(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    store = Store(make_engine(sqlite_url))
    assert fts_config(store) == {"automerge": 16, "hashsize": 8 * MIB}
    command.downgrade(alembic_config(sqlite_url), "0022")
    assert fts_config(store) == {"automerge": 4, "hashsize": MIB}
    store.engine.dispose()


def _fill(store: Store, words: list[str]) -> None:
    """4,000 items of 250 words in groups of 1,000 (a transaction each): ~1.4 MB of text per
    group, more than FTS5's default 1 MiB hash holds, so the two settings cut and merge the
    index's segments differently."""
    rnd = random.Random(16)
    src = store.add_source("https://a.example.org/feed").id
    for group in range(4):
        items = [
            clean_item(
                f"g{group}-{n}",
                title=" ".join(rnd.choices(words, k=6)),
                text=" ".join(rnd.choices(words, k=250)),
            )
            for n in range(1000)
        ]
        store.save_feeds([FeedWrite(src, items)], now=T0, next_attempt_at=T0)


def test_searches_find_the_same_items_in_the_same_order_as_with_fts5s_defaults(
    tmp_path: Path,
) -> None:
    rnd = random.Random(23)
    # a Zipf-like vocabulary: a few very common words, many rare ones
    words = [f"w{n}" for n in range(3000) for _ in range(max(1, 60 // (n + 1)))]
    rnd.shuffle(words)
    found: list[list[list[str]]] = []
    layout: list[int] = []
    for revision in ("head", "0022"):
        url = f"sqlite:///{tmp_path / revision}.db"
        upgrade(url)
        if revision != "head":
            command.downgrade(alembic_config(url), revision)
        store = Store(make_engine(url))
        _fill(store, words)
        with store.engine.begin() as conn:  # FTS5's own check of the index against the rows
            conn.exec_driver_sql(
                "INSERT INTO item_fts(item_fts, rank) VALUES ('integrity-check', 1)"
            )
            segments = conn.exec_driver_sql("SELECT count(*) FROM item_fts_data").scalar_one()
        layout.append(segments)
        queries = ["w0", "w1 w2", "w7", "w40", "w500", "w2999", "w3 w9 w27"]
        items = ItemQueries(store.engine)
        found.append([[i.url for i in items.list(q=q, limit=50).items] for q in queries])
        store.engine.dispose()
    assert layout[0] != layout[1], layout  # the settings took effect: a different layout ...
    tuned, defaults = found
    assert tuned == defaults  # ... and the same answers
    assert all(tuned[:5]), tuned  # the common words are found
