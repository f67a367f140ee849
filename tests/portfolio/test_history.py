"""Digest history: every past digest is listed, page by page (``next_cursor`` given back as
``cursor``, or as ``before``), and each stays readable -- also once its items are deleted."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete

from curation.storage.tables import Item
from tests.helpers.api import Api
from tests.helpers.digests import record_digest


def test_every_past_digest_is_listed_and_readable(api: Api) -> None:
    me = api.person()
    other = api.person()
    record = api.people.get(me.id)
    item_ids = [api.item(text=f"history {i}") for i in range(3)]
    days = [(date(2026, 10, 1) + timedelta(days=7 * i)).isoformat() for i in range(40)]
    for n, day in enumerate(days):
        item = item_ids[n % 3]
        record_digest(api.engine, record, [(item, f"story {n}")], day=day)
    record_digest(api.engine, api.people.get(other.id), [(item_ids[0], "theirs")], day=days[0])

    for param in ("cursor", "before"):
        seen, cursor, pages = [], None, 0
        while pages < 20:
            query = {"limit": 7} | ({param: cursor} if cursor else {})
            answer = api.client.get("/v1/me/digests", params=query, headers=me.headers)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            seen += [d["date"] for d in body["digests"]]
            cursor, pages = body["next_cursor"], pages + 1
            if cursor is None:
                break
        assert seen == sorted(days, reverse=True), param  # all 40, newest first, once each
        assert pages == 6

    with api.engine.begin() as conn:  # the items go; the digests keep what they showed
        conn.execute(delete(Item).where(Item.id.in_(item_ids)))
    for n, day in enumerate(days):
        answer = api.client.get(f"/v1/me/digests/{day}", headers=me.headers)
        assert answer.status_code == 200, (day, answer.text)
        titles = [e["item"]["title"] for s in answer.json()["sections"] for e in s["items"]]
        assert titles == [f"story {n}"]
    assert api.client.get("/v1/me/digests/2026-09-30", headers=me.headers).status_code == 404
    both = {"cursor": days[3], "before": days[4]}
    assert api.client.get("/v1/me/digests", params=both, headers=me.headers).status_code == 422
