"""Ids are never handed out twice, and an e-mail link acts only for the person it was sent to.

SQLite without AUTOINCREMENT gives a new row the largest id *now in the table* plus one: delete
the newest person and the next one takes their id, and with it every link mailed to the first
(an unsubscribe link lives a year). Migration 0007 puts AUTOINCREMENT on every SQLite table;
PostgreSQL's sequences never went back. Links also name the person's ``created_at``, so even a
row that does get an old id (written by hand here) is not the person an old link was made for.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine, column, delete, func, inspect, select, table, text

from alembic import command
from app.main import create_app
from curation.clock import utcnow
from curation.mail.render import make_renderer
from curation.people.records import NewPerson, PersonRecord
from curation.storage.engine import alembic_config, make_engine, upgrade
from curation.storage.feeds import FeedWrite, Store
from curation.storage.gems import GemStore
from curation.storage.items import ItemQueries
from curation.storage.people import PeopleStore
from curation.storage.tables import Digest, Item, Person, metadata
from tests.helpers.digests import NOW, email_links, link_settings, path_of, record_digest
from tests.helpers.people import person_row
from tests.helpers.store import clean_item

ITEM, PERSON, DIGEST = Item.__table__, Person.__table__, Digest.__table__
_SERIAL = itertools.count(1)  # unique names across makers, so one database can get several


def _count(engine: Engine, table) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _delete(engine: Engine, table, row_id: int) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        assert conn.execute(delete(table).where(table.c.id == row_id)).rowcount == 1


class Maker:
    """Makes one more row of each kind through the stores, the way the app does."""

    def __init__(self, store: Store) -> None:
        self.store, self.engine = store, store.engine
        self.people, self.gems = PeopleStore(self.engine), GemStore(self.engine)

    @staticmethod
    def _next() -> int:
        return next(_SERIAL)

    def source(self) -> int:
        return self.store.add_source(f"https://feed{self._next()}.example.org/rss").id

    def item(self, source_id: int, title: str | None = None) -> int:
        key = f"k{self._next()}"
        it = clean_item(key, title=title or f"Story {key}", text=f"the text of story {key}")
        self.store.save_feeds([FeedWrite(source_id, [it])], now=NOW, next_attempt_at=NOW)
        with self.engine.connect() as conn:
            query = select(ITEM.c.id).where(ITEM.c.dedupe_key == it.dedupe_key)
            return conn.execute(query).scalar_one()

    def person(self) -> PersonRecord:
        n = self._next()
        return self.people.create(NewPerson(email=f"p{n}@example.org", name=f"P{n}"))[0]

    def gem(self, item_id: int, curator_id: int) -> int:
        return self.gems.create(item_id=item_id, curator_id=curator_id, note="read this").id

    def digest(self, person: PersonRecord, item_id: int) -> int:
        day = (date(2026, 1, 1) + timedelta(days=self._next())).isoformat()
        return record_digest(self.engine, person, [(item_id, "Story")], day=day).id


def _newest_deleted_then_made_again(make: Maker) -> None:
    """For each kind: make two, delete the newer, make one more: its id is above both."""
    engine = make.engine
    source_ids = [make.source(), make.source()]
    make.store.delete_source(source_ids[-1])
    assert make.source() > max(source_ids)

    item_ids = [make.item(source_ids[0]), make.item(source_ids[0])]
    _delete(engine, ITEM, item_ids[-1])
    assert make.item(source_ids[0]) > max(item_ids)

    people = [make.person(), make.person()]
    make.people.delete(people[-1].id)
    assert make.person().id > max(p.id for p in people)

    gem_ids = [make.gem(item_ids[0], people[0].id), make.gem(item_ids[0], make.person().id)]
    make.gems.delete(gem_ids[-1])
    assert make.gem(item_ids[0], make.person().id) > max(gem_ids)

    digest_ids = [make.digest(people[0], item_ids[0]), make.digest(people[0], item_ids[0])]
    _delete(engine, DIGEST, digest_ids[-1])
    assert make.digest(people[0], item_ids[0]) > max(digest_ids)


# ---- (a) new databases, both backends ------------------------------------------------------------


def test_a_deleted_rows_id_is_never_given_to_a_new_row(any_store: Store) -> None:
    _newest_deleted_then_made_again(Maker(any_store))


def test_every_table_keeps_its_ids_in_the_models_and_in_the_migrated_schema(
    sqlite_url: str,
) -> None:
    """A new table must opt in too: the drift comparison does not look at AUTOINCREMENT."""
    tables = metadata.sorted_tables
    assert [t.name for t in tables if not t.dialect_options["sqlite"]["autoincrement"]] == []
    upgrade(sqlite_url)
    with make_engine(sqlite_url).connect() as conn:
        ddl = dict(
            conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type='table'").all()
        )
    for tbl in metadata.sorted_tables:
        assert re.search(r"\bid INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT\b", ddl[tbl.name]), (
            tbl.name
        )


# ---- (b) an existing database upgraded from 0006 -------------------------------------------------


HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
assert HEAD is not None and HEAD >= "0007"


def _snapshot(engine: Engine) -> dict[str, list[dict]]:
    """Every row of every table, read as the database has them (later migrations may add
    tables and columns: the snapshot compares the tables and columns that exist on both sides)."""
    found = {}
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for t in metadata.sorted_tables:
            if t.name not in present:  # made by a later migration
                continue
            names = [c["name"] for c in inspect(conn).get_columns(t.name)]
            query = select(*(column(n) for n in names)).select_from(table(t.name)).order_by("id")
            found[t.name] = [dict(zip(names, r, strict=True)) for r in conn.execute(query)]
    return found


def _kept(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> bool:
    """Every row of ``before`` is in ``after`` with the same id and values (columns added by
    later migrations aside; tables they add are not in ``before``)."""
    return before.keys() <= after.keys() and all(
        [{k: row[k] for k in old} for row, old in zip(after[name], rows, strict=False)] == rows
        and len(after[name]) == len(rows)
        for name, rows in before.items()
    )


def _titles(engine: Engine, q: str) -> list[str]:
    return sorted(r.title for r in ItemQueries(engine).list(q=q).items)


def _rows_at_0006(engine: Engine, titles: tuple[str, ...]) -> list[int]:
    """A source and its items written with the columns of 0006 only, as the code of that day
    did (the stores of today write columns later migrations add)."""
    with engine.begin() as conn:
        source = conn.execute(
            text(
                "INSERT INTO source (url, active, status, error_count, created_at) "
                "VALUES ('https://feed0.example.org/rss', true, 'new', 0, :t) RETURNING id"
            ),
            {"t": NOW},
        ).scalar_one()
        ids = []
        for n, title in enumerate(titles):
            values = {
                "k": f"https://example.org/0006-{n}",
                "s": source,
                "title": title,
                "t": NOW,
                "h": f"h{n}",
            }
            item_id = conn.execute(
                text(
                    "INSERT INTO item (dedupe_key, origin_source_id, url, title, summary_html, "
                    "content_html, text, first_seen_at, content_hash) "
                    "VALUES (:k, :s, :k, :title, '', '', 'the text', :t, :h) RETURNING id"
                ),
                values,
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO item_source (source_id, guid, item_id, first_seen_at) "
                    "VALUES (:s, :k, :i, :t)"
                ),
                {**values, "i": item_id},
            )
            if engine.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "INSERT INTO item_fts(rowid, title, text) VALUES (:i, :title, 'the text')"
                    ),
                    {"i": item_id, "title": title},
                )
            ids.append(item_id)
    return ids


def _fill_at_0006(url: str) -> tuple[Engine, Maker]:
    upgrade(url, "0006")
    engine = make_engine(url)
    make = Maker(Store(engine))
    items = _rows_at_0006(engine, ("Octopus cognition", "Compilers", "Octopus arms"))
    ada, grace = make.person(), make.person()
    make.gem(items[1], grace.id)
    make.digest(ada, items[0])
    with engine.begin() as conn:  # rows as the code of that day wrote them (no change marks)
        conn.execute(
            text(
                "INSERT INTO feedback (person_id, item_id, signal, created_at)"
                " VALUES (:p, :i, 'useful', :t)"
            ),
            {"p": ada.id, "i": items[0], "t": datetime(2026, 11, 1, tzinfo=UTC)},
        )
        conn.execute(
            text("INSERT INTO interest (person_id, phrase, weight) VALUES (:p, 'octopus', 1.0)"),
            {"p": ada.id},
        )
        conn.execute(
            text("INSERT INTO mute (person_id, phrase) VALUES (:p, 'crypto')"), {"p": ada.id}
        )
    return engine, make


def test_a_database_at_0006_upgrades_with_its_data_and_search(sqlite_url: str) -> None:
    engine, make = _fill_at_0006(sqlite_url)
    before = _snapshot(engine)
    assert _titles(engine, "octopus") == ["Octopus arms", "Octopus cognition"]
    engine.dispose()

    upgrade(sqlite_url)

    engine = make_engine(sqlite_url)
    assert _kept(before, _snapshot(engine))  # every row, with its id
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        conn.exec_driver_sql("INSERT INTO item_fts(item_fts, rank) VALUES ('integrity-check', 1)")
        triggers = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='trigger' ORDER BY name"
        ).scalars()
        # the search index's, and the per-source counts' deletes (migrations 0018 and 0022)
        assert list(triggers) == [
            "item_fts_ad",
            "item_fts_au",
            "item_source_count_delete",
        ]
    assert _titles(engine, "octopus") == ["Octopus arms", "Octopus cognition"]

    # the search triggers and the store's indexing work on the rebuilt table
    make = Maker(Store(engine))
    with engine.begin() as conn:
        conn.execute(ITEM.update().where(ITEM.c.title == "Compilers").values(title="Octopus ink"))
    octopus_ids = {r.title: r.id for r in ItemQueries(engine).list(q="octopus").items}
    _delete(engine, ITEM, octopus_ids["Octopus arms"])
    make.item(make.source(), "Octopus dreams")
    assert _titles(engine, "octopus") == ["Octopus cognition", "Octopus dreams", "Octopus ink"]
    assert _titles(engine, "compilers") == []

    # and from now on an id is never given out twice
    _newest_deleted_then_made_again(make)


def test_postgresql_at_0006_upgrades_with_its_data(pg_url: str) -> None:
    """Nothing to rebuild there (sequences never go back): the data and search stay."""
    engine, make = _fill_at_0006(pg_url)
    before = _snapshot(engine)
    upgrade(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    assert _kept(before, _snapshot(engine))
    assert _titles(engine, "octopus") == ["Octopus arms", "Octopus cognition"]
    _newest_deleted_then_made_again(make)


def _autoincrement_tables(path: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'").fetchall()
    return sorted(name for name, sql in rows if "AUTOINCREMENT" in (sql or ""))


def test_a_failed_upgrade_leaves_the_database_as_it_was_and_can_be_retried(
    sqlite_url: str,
) -> None:
    """The rebuild is one transaction: failing at the last table undoes the ten before it."""
    engine, _ = _fill_at_0006(sqlite_url)
    before = _snapshot(engine)
    path = engine.url.database
    engine.dispose()
    with sqlite3.connect(path) as conn:  # in the way of the last table's rebuild
        conn.execute("CREATE TABLE _alembic_tmp_gem (x)")

    with pytest.raises(Exception, match="_alembic_tmp_gem"):
        upgrade(sqlite_url)

    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0006",)
        leftovers = conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%alembic_tmp%'"
        ).fetchall()
        assert leftovers == [("_alembic_tmp_gem",)]  # only our obstacle, nothing half-built
        conn.execute("DROP TABLE _alembic_tmp_gem")
    assert _autoincrement_tables(path) == []
    assert _kept(before, _snapshot(make_engine(sqlite_url)))

    upgrade(sqlite_url)
    assert _autoincrement_tables(path) == sorted(t.name for t in metadata.sorted_tables)
    assert _kept(before, _snapshot(make_engine(sqlite_url)))


def test_the_rebuild_refuses_to_run_with_foreign_keys_on(sqlite_url: str) -> None:
    """With foreign keys on, dropping ``item`` would cascade into gems, feedback, digests."""
    engine, _ = _fill_at_0006(sqlite_url)  # make_engine turns foreign keys on
    before = _snapshot(engine)
    cfg = alembic_config(sqlite_url)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        with pytest.raises(RuntimeError, match="foreign keys off"):
            command.upgrade(cfg, "head")
    assert _kept(before, _snapshot(engine))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0006"


# ---- (c) e-mail links act only for the person they were sent to ----------------------------------


def test_an_old_link_does_nothing_for_a_later_holder_of_the_id(any_store: Store) -> None:
    engine = any_store.engine
    settings = link_settings(engine)
    make = Maker(any_store)
    item_id = make.item(make.source(), "A story")
    people = make.people
    ada = make.person()
    render = make_renderer(settings, now=utcnow())
    mailed = render(record_digest(engine, ada, [(item_id, "A story")]), ada)
    (useful,) = email_links(mailed, "feedback?token=u.")
    (unsubscribe,) = email_links(mailed, "unsubscribe")

    # Ada leaves; a new person gets her id (written by hand: neither backend would reuse it)
    people.delete(ada.id)
    with engine.begin() as conn:
        conn.execute(
            PERSON.insert().values(
                **person_row(ada.id, email="eve@example.org", name="Eve", created_at=utcnow())
            )
        )
    eve = people.get(ada.id)

    client = TestClient(create_app(settings))
    assert client.head(path_of(useful)).status_code == 404
    old_token = useful.split("token=")[1]
    for response in (
        client.get(path_of(useful)),
        client.post("/v1/email/feedback", data={"token": old_token}),  # the page's button
        client.get(path_of(unsubscribe)),
        client.post(path_of(unsubscribe), data={"List-Unsubscribe": "One-Click"}),
    ):
        assert response.status_code == 404
        assert "no longer exists" in response.text and "Eve" not in response.text
    assert people.get(eve.id).email_digests  # still subscribed
    assert people.reactions([eve.id]) == {}  # and no click recorded in her name

    # the same links made for Eve herself work: what failed above was only the holder
    mailed = render(record_digest(engine, eve, [(item_id, "A story")], day="2026-11-03"), eve)
    (useful,) = email_links(mailed, "feedback?token=u.")
    (unsubscribe,) = email_links(mailed, "unsubscribe")
    assert client.get(path_of(useful)).status_code == 200  # a GET only asks to confirm
    assert people.reactions([eve.id]) == {}
    token = useful.split("token=")[1]
    assert client.post("/v1/email/feedback", data={"token": token}).status_code == 200
    assert [r.signal for r in people.reactions([eve.id])[eve.id]] == ["useful"]
    assert client.post(path_of(unsubscribe)).status_code == 200
    assert not people.get(eve.id).email_digests


def test_a_person_made_again_does_not_inherit_old_links(any_store: Store) -> None:
    """Deleted and created again with the same e-mail: the old links stay dead."""
    engine = any_store.engine
    settings = link_settings(engine)
    make = Maker(any_store)
    item_id = make.item(make.source(), "A story")
    ada = make.people.create(NewPerson(email="ada@example.org", name="Ada"))[0]
    mailed = make_renderer(settings)(record_digest(engine, ada, [(item_id, "A story")]), ada)
    (unsubscribe,) = email_links(mailed, "unsubscribe")
    make.people.delete(ada.id)
    again = make.people.create(NewPerson(email="ada@example.org", name="Ada"))[0]
    assert again.id > ada.id

    client = TestClient(create_app(settings))
    assert client.post(path_of(unsubscribe)).status_code == 404
    assert make.people.get(again.id).email_digests


def test_an_emptied_table_does_not_start_again_at_one(tmp_path: Path) -> None:
    """AUTOINCREMENT keeps the largest id ever used even when every row is gone."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    make = Maker(Store(make_engine(url)))
    first = make.person()
    make.people.delete(first.id)
    assert _count(make.engine, PERSON) == 0
    assert make.person().id == first.id + 1


def test_a_skipped_duplicate_does_not_cost_a_full_search_rebuild(store: Store) -> None:
    """With AUTOINCREMENT a row skipped by ON CONFLICT still takes an id; the store's search
    indexing must count on that instead of rebuilding the whole index."""
    from sqlalchemy import event

    from curation.storage.items import ItemQueries
    from tests.helpers.store import clean_item

    now = utcnow()
    a = store.add_source("https://a.example/f").id
    b = store.add_source("https://b.example/f").id
    store.save_feeds([FeedWrite(a, [clean_item("k1")])], now=now, next_attempt_at=now)
    rebuilds: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def spy(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if "'rebuild'" in statement:
            rebuilds.append(statement)

    writes = [FeedWrite(b, [clean_item("k0"), clean_item("k1"), clean_item("k2")])]
    store.save_feeds(writes, now=now, next_attempt_at=now)
    assert rebuilds == []
    found = {i.url for i in ItemQueries(store.engine).list(q="Item").items}
    assert found == {f"https://example.org/k{n}" for n in range(3)}
