"""Saved items, personal notes and the portfolio through the HTTP API, on SQLite and PostgreSQL:
paging of the saved list, notes, the three export formats, the export → import round trip into
a second, separate database, the import's limits, roles and deleting a person."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import func, select

from curation.clock import utcnow
from curation.storage.engine import upgrade
from curation.storage.scratch import scratch_database
from curation.storage.tables import Feedback, Item, ItemNote, Share, Team, TeamMember, XapiOutbox
from curation.xapi.statements import VERBS, statement_id
from tests.helpers.api import Actor, Api, open_api
from tests.helpers.store import clean_item


def _items(api: Api, n: int, prefix: str) -> list[int]:
    source = api.source(title=f"Source {prefix}")
    made = [
        clean_item(f"{prefix}-{i}", title=f"{prefix} title {i}", text=f"text of {prefix} {i}")
        for i in range(n)
    ]
    return api.items(source, made)


def _save(api: Api, who: Actor, item_id: int, signal: str = "saved") -> None:
    answer = api.client.post(
        "/v1/me/feedback", json={"item_id": item_id, "signal": signal}, headers=who.headers
    )
    assert answer.status_code == 200, answer.text


def _count(api: Api, table, **where: int) -> int:  # noqa: ANN001
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with api.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_saved_list_pages_newest_first_with_notes(api: Api) -> None:
    me, other = api.person(), api.person()
    ids = _items(api, 5, "paged")
    for item_id in ids:
        _save(api, me, item_id)
    _save(api, other, ids[0])
    assert (
        api.client.put(
            f"/v1/me/notes/{ids[1]}", json={"note": "read again"}, headers=me.headers
        ).status_code
        == 200
    )

    seen, cursor, pages = [], None, 0
    while pages < 10:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = api.client.get("/v1/me/saved", params=params, headers=me.headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += body["items"]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            break
    assert pages == 3
    assert [e["item"]["id"] for e in seen] == list(reversed(ids))  # newest first, no repeat
    assert [e["saved_at"] for e in seen] == sorted((e["saved_at"] for e in seen), reverse=True)
    notes = {e["item"]["id"]: e["note"] for e in seen}
    assert notes[ids[1]] == "read again" and notes[ids[0]] is None
    assert seen[0]["item"]["title"] == "paged title 4"

    # saving an item again moves it to the top
    _save(api, me, ids[0])
    top = api.client.get("/v1/me/saved", params={"limit": 1}, headers=me.headers).json()
    assert top["items"][0]["item"]["id"] == ids[0]

    # un-saving: 204, then 404; the other person's saved item is untouched
    assert api.client.delete(f"/v1/me/saved/{ids[0]}", headers=me.headers).status_code == 204
    again = api.client.delete(f"/v1/me/saved/{ids[0]}", headers=me.headers)
    assert again.status_code == 404 and "not among your saved" in again.json()["detail"]
    theirs = api.client.get("/v1/me/saved", headers=other.headers).json()["items"]
    assert [e["item"]["id"] for e in theirs] == [ids[0]]
    bad = api.client.get("/v1/me/saved", params={"cursor": "bm9wZQ"}, headers=me.headers)
    assert bad.status_code == 422


def test_notes_are_checked_and_only_mine(api: Api) -> None:
    me, other = api.person(), api.person()
    (item_id,) = _items(api, 1, "noted")
    put = api.client.put(f"/v1/me/notes/{item_id}", json={"note": "  first  "}, headers=me.headers)
    assert put.status_code == 200 and put.json()["note"] == "first"
    changed = api.client.put(
        f"/v1/me/notes/{item_id}", json={"note": "second\nline"}, headers=me.headers
    )
    assert changed.json()["note"] == "second\nline"
    assert changed.json()["created_at"] == put.json()["created_at"]
    for bad in ("x" * 2001, "", "   ", "bell\x07"):
        answer = api.client.put(f"/v1/me/notes/{item_id}", json={"note": bad}, headers=me.headers)
        assert answer.status_code == 422, bad
    assert (
        api.client.put("/v1/me/notes/999999", json={"note": "n"}, headers=me.headers).status_code
        == 404
    )
    # the other person has no note there, and cannot delete mine
    assert api.client.delete(f"/v1/me/notes/{item_id}", headers=other.headers).status_code == 404
    assert _count(api, ItemNote.__table__, person_id=me.id) == 1
    assert api.client.delete(f"/v1/me/notes/{item_id}", headers=me.headers).status_code == 204
    assert api.client.delete(f"/v1/me/notes/{item_id}", headers=me.headers).status_code == 404


def _portfolio(api: Api, who: Actor, fmt: str = "json"):  # noqa: ANN202
    answer = api.client.get("/v1/me/portfolio", params={"format": fmt}, headers=who.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment;")
    return answer


def test_export_formats(api: Api) -> None:
    me, other = api.person(), api.person()
    ids = _items(api, 3, "export")
    _save(api, me, ids[0])
    _save(api, me, ids[1], "useful")
    _save(api, me, ids[1], "saved")
    api.client.put(f"/v1/me/notes/{ids[2]}", json={"note": "why it matters"}, headers=me.headers)
    _save(api, me, ids[0], "not_useful")  # not part of a portfolio
    _save(api, other, ids[2], "useful")  # someone else's

    doc = _portfolio(api, me).json()
    assert doc["format"] == "curation-portfolio" and doc["version"] == 1
    assert doc["person"]["email"].startswith("learner-")
    by_url = {i["url"]: i for i in doc["items"]}
    assert set(by_url) == {f"https://example.org/export-{i}" for i in range(3)}
    assert [s["signal"] for s in by_url["https://example.org/export-1"]["signals"]] == [
        "useful",
        "saved",
    ]
    assert [s["signal"] for s in by_url["https://example.org/export-0"]["signals"]] == ["saved"]
    assert by_url["https://example.org/export-2"]["note"] == "why it matters"
    assert by_url["https://example.org/export-2"]["signals"] == []
    assert by_url["https://example.org/export-0"]["source"]["title"] == "Source export"

    atom = _portfolio(api, me, "atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(atom.content)
    assert not feed.bozo, feed.bozo_exception
    assert len(feed.entries) == 3
    links = {e.link for e in feed.entries}
    assert links == set(by_url)
    noted = next(e for e in feed.entries if e.link.endswith("export-2"))
    assert "My note: why it matters" in noted.content[0].value
    assert _portfolio(api, me, "atom").content == atom.content  # stable ids and order

    statements = _portfolio(api, me, "xapi").json()
    assert sorted(s["verb"]["id"] for s in statements) == sorted(
        [VERBS["saved"][0], VERBS["saved"][0], VERBS["useful"][0]]
    )
    assert {s["actor"]["account"]["name"] for s in statements} == {str(me.id)}
    assert [s["id"] for s in _portfolio(api, me, "xapi").json()] == [s["id"] for s in statements]
    # the same ids the LRS outbox gives the same events
    api.app.state.domain.get().xapi.collect()
    with api.engine.connect() as conn:
        queued = set(conn.execute(select(XapiOutbox.statement_id)).scalars())
    assert {s["id"] for s in statements} <= queued
    assert (
        api.client.get("/v1/me/portfolio", params={"format": "csv"}, headers=me.headers).status_code
        == 422
    )


@contextmanager
def _second_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """Another database than the test's own: a new SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'second.db'}"
        upgrade(url)
        yield url
        return
    server = os.environ.get("CURATION_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("CURATION_TEST_POSTGRES_URL is not set")
    with scratch_database(server, "curation_second") as url:
        upgrade(url)
        yield url


@pytest.mark.parametrize("second", ["sqlite", "postgresql"])
def test_round_trip_into_a_second_database(api: Api, tmp_path: Path, second: str) -> None:
    me = api.person()
    ids = _items(api, 4, "trip")
    _save(api, me, ids[0])
    _save(api, me, ids[1], "useful")
    _save(api, me, ids[2], "saved")
    _save(api, me, ids[2], "useful")
    api.client.put(f"/v1/me/notes/{ids[1]}", json={"note": "keep this"}, headers=me.headers)
    api.client.put(f"/v1/me/notes/{ids[3]}", json={"note": "only a note"}, headers=me.headers)
    exported = _portfolio(api, me).content

    with _second_database(second, tmp_path) as second_url, open_api(second_url) as there:
        newcomer = there.person()
        # one of the items already exists there, under a URL with tracking parameters
        source = there.source()
        there.items(source, [clean_item("trip-0", title="trip title 0 (there)")])
        items_before = _count(there, Item.__table__)

        first = there.client.post(
            "/v1/me/portfolio/import", content=exported, headers=newcomer.headers
        )
        assert first.status_code == 200, first.text
        assert first.json() == {
            "items": 4,
            "items_found": 1,
            "items_created": 3,
            "signals_added": 4,
            "notes_added": 2,
            "notes_kept": 0,
            "shares_listed": 0,
        }
        assert _count(there, Item.__table__) == items_before + 3
        second = there.client.post(
            "/v1/me/portfolio/import", content=exported, headers=newcomer.headers
        )
        assert second.json()["signals_added"] == 0 and second.json()["notes_added"] == 0
        assert second.json()["items_created"] == 0
        assert _count(there, Item.__table__) == items_before + 3
        assert _count(there, Feedback.__table__, person_id=newcomer.id) == 4

        saved = there.client.get("/v1/me/saved", headers=newcomer.headers).json()["items"]
        assert {e["item"]["url"] for e in saved} == {
            "https://example.org/trip-0",
            "https://example.org/trip-2",
        }
        back = _portfolio(there, newcomer).json()
        original = json.loads(exported)

        def essence(doc: dict) -> list[tuple]:
            return sorted(
                (
                    i["url"],
                    i.get("note"),
                    tuple((s["signal"], s["at"]) for s in i["signals"]),
                )
                for i in doc["items"]
            )

        assert essence(back) == essence(original)
        titles = {i["url"]: i["title"] for i in back["items"]}
        assert titles["https://example.org/trip-1"] == "trip title 1"
        assert titles["https://example.org/trip-0"] == "trip title 0 (there)"  # found, kept


def test_import_keeps_my_own_note_and_later_reaction(api: Api) -> None:
    me = api.person()
    (item_id,) = _items(api, 1, "mine")
    _save(api, me, item_id, "useful")
    api.client.put(f"/v1/me/notes/{item_id}", json={"note": "old note"}, headers=me.headers)
    exported = _portfolio(api, me).content
    api.client.put(f"/v1/me/notes/{item_id}", json={"note": "new note"}, headers=me.headers)
    _save(api, me, item_id, "not_useful")  # later: replaces useful

    report = api.client.post("/v1/me/portfolio/import", content=exported, headers=me.headers)
    assert report.json()["notes_kept"] == 1 and report.json()["signals_added"] == 0
    with api.engine.connect() as conn:
        signals = set(
            conn.execute(
                select(Feedback.signal).where(
                    Feedback.person_id == me.id, Feedback.item_id == item_id
                )
            ).scalars()
        )
        note = conn.execute(select(ItemNote.note).where(ItemNote.person_id == me.id)).scalar()
    assert signals == {"not_useful"} and note == "new note"


def test_import_refuses_bad_files(api: Api) -> None:
    me = api.person()
    post = api.client.post

    def status(body: bytes) -> tuple[int, str]:
        answer = post("/v1/me/portfolio/import", content=body, headers=me.headers)
        return answer.status_code, answer.json().get("detail", "")

    assert status(b"not json")[0] == 422
    assert "not a portfolio" in status(b'{"format": "other"}')[1]
    doc = {"format": "curation-portfolio", "version": 2, "items": []}
    assert "version 2" in status(json.dumps(doc).encode())[1]
    doc = {
        "format": "curation-portfolio",
        "version": 1,
        "exported_at": "2026-11-01T00:00:00Z",
        "person": {"name": "x"},
        "items": [{"url": "https://example.org/a", "title": "t\x00"}],
    }
    code, detail = status(json.dumps(doc).encode())
    assert code == 422 and "items.0.title" in detail
    doc["items"] = [{"url": "https://example.org/a", "title": "t"}] * 10_001
    code, detail = status(json.dumps(doc).encode())
    assert code == 422 and "at most 10000 can be imported" in detail
    too_big = json.dumps(doc | {"pad": "x" * (16 * 1024 * 1024)}).encode()
    assert status(too_big)[0] == 413
    assert _count(api, Feedback.__table__, person_id=me.id) == 0


def test_an_item_without_a_link_is_restored_once(api: Api) -> None:
    me = api.person()
    doc = {
        "format": "curation-portfolio",
        "version": 1,
        "exported_at": "2026-11-01T00:00:00Z",
        "person": {"name": "x"},
        "items": [
            {
                "title": "A talk I heard",
                "summary": "notes <b>not html</b>",
                "signals": [{"signal": "saved", "at": "2026-10-01T09:00:00Z"}],
                "note": "ask about it",
            }
        ],
    }
    raw = json.dumps(doc).encode()
    for expected in (1, 0):
        report = api.client.post("/v1/me/portfolio/import", content=raw, headers=me.headers)
        assert report.json()["items_created"] == expected
    saved = api.client.get("/v1/me/saved", headers=me.headers).json()["items"]
    assert len(saved) == 1 and saved[0]["item"]["url"] is None
    assert saved[0]["note"] == "ask about it"
    assert saved[0]["saved_at"].startswith("2026-10-01T09:00:00")
    assert "&lt;b&gt;" in saved[0]["item"]["summary"]  # stored as text, never as markup


def test_no_route_names_a_person(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    mine = [p for p in paths if p.startswith(("/v1/me/saved", "/v1/me/notes", "/v1/me/portfolio"))]
    assert len(mine) == 5
    for path in mine:
        for operation in paths[path].values():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert not names & {"person_id", "person", "id", "email"}, (path, names)
    # an admin's export holds the admin's own items only, never anybody else's
    learner, admin = api.person(), api.person("admin")
    (item_id,) = _items(api, 1, "private")
    _save(api, learner, item_id)
    api.client.put(f"/v1/me/notes/{item_id}", json={"note": "secret"}, headers=learner.headers)
    assert _portfolio(api, admin).json()["items"] == []
    assert api.client.get("/v1/me/saved", headers=admin.headers).json()["items"] == []


@pytest.mark.parametrize("how", ["api"])
def test_deleting_a_person_deletes_their_portfolio(api: Api, how: str) -> None:
    me, admin, other = api.person(), api.person("admin"), api.person()
    ids = _items(api, 2, f"gone-{how}")
    _save(api, me, ids[0])
    _save(api, me, ids[1], "useful")
    _save(api, other, ids[0])
    api.client.put(f"/v1/me/notes/{ids[0]}", json={"note": "mine"}, headers=me.headers)
    api.client.put(f"/v1/me/notes/{ids[0]}", json={"note": "theirs"}, headers=other.headers)
    assert _count(api, Feedback.__table__, person_id=me.id) == 2

    assert api.client.delete(f"/v1/people/{me.id}", headers=admin.headers).status_code == 204
    assert _count(api, Feedback.__table__, person_id=me.id) == 0
    assert _count(api, ItemNote.__table__, person_id=me.id) == 0
    assert api.client.get("/v1/me/portfolio", headers=me.headers).status_code == 401
    # the other person's keep theirs, and the items stay
    assert _count(api, Feedback.__table__, person_id=other.id) == 1
    assert _count(api, ItemNote.__table__, person_id=other.id) == 1
    assert _count(api, Item.__table__, id=ids[0]) == 1
    # and deleting an item takes its notes with it
    with api.engine.begin() as conn:
        conn.execute(Item.__table__.delete().where(Item.id == ids[0]))
    assert _count(api, ItemNote.__table__, person_id=other.id) == 0


def test_statement_ids_are_the_builders(api: Api) -> None:
    """Each exported statement's id is statement_id() of its event: recomputed here."""
    from datetime import datetime

    from curation.storage.xapi import Event

    me = api.person()
    (item_id,) = _items(api, 1, "ids")
    _save(api, me, item_id)
    (st,) = _portfolio(api, me, "xapi").json()
    at = datetime.fromisoformat(st["timestamp"].replace("Z", "+00:00"))
    with api.engine.connect() as conn:
        stored = conn.execute(
            select(Feedback.created_at).where(Feedback.person_id == me.id)
        ).scalar_one()
    assert abs((stored - at).total_seconds()) < 0.001
    event = Event("saved", me.id, item_id, stored, "ids title 0", "https://example.org/ids-0")
    assert st["id"] == statement_id(event)
    assert st["object"]["id"] == "https://example.org/ids-0"


def test_my_shares_are_listed_never_re_shared(api: Api) -> None:
    me, teammate = api.person(), api.person()
    (item_id,) = _items(api, 1, "shared")
    now = utcnow()
    with api.engine.begin() as conn:
        team_id = conn.execute(
            Team.__table__.insert()
            .values(name=f"Team {me.id}", created_at=now)
            .returning(Team.__table__.c.id)
        ).scalar_one()
        for who in (me, teammate):
            conn.execute(
                TeamMember.__table__.insert().values(
                    team_id=team_id, person_id=who.id, added_at=now
                )
            )
        conn.execute(
            Share.__table__.insert().values(
                item_id=item_id,
                team_id=team_id,
                person_id=me.id,
                note="read before Monday",
                created_at=now,
            )
        )
    doc = _portfolio(api, me).json()
    (item,) = doc["items"]
    assert item["signals"] == [] and item.get("note") is None
    assert [(s["team"], s["note"]) for s in item["shares"]] == [
        (f"Team {me.id}", "read before Monday")
    ]
    assert _portfolio(api, teammate).json()["items"] == []  # a share is the sharer's
    feed = feedparser.parse(_portfolio(api, me, "atom").content)
    assert f"Shared with Team {me.id}" in feed.entries[0].content[0].value
    statements = _portfolio(api, me, "xapi").json()
    if "shared" in VERBS:  # the verb comes with teams
        assert [s["verb"]["id"] for s in statements] == [VERBS["shared"][0]]
        api.app.state.domain.get().xapi.collect()
        with api.engine.connect() as conn:
            queued = set(conn.execute(select(XapiOutbox.statement_id)).scalars())
        assert statements[0]["id"] in queued

    # imported elsewhere in the same instance: counted, not shared again
    newcomer = api.person()
    raw = json.dumps(doc).encode()
    report = api.client.post("/v1/me/portfolio/import", content=raw, headers=newcomer.headers)
    assert report.json()["shares_listed"] == 1
    assert _count(api, Share.__table__, item_id=item_id) == 1
    assert _count(api, Share.__table__, person_id=newcomer.id) == 0
