"""Recording a chunk of digests (:meth:`DigestRows.record_many`): ids, payloads, conflicts."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from curation.storage.digests import DigestRows, NewDigest, PickRow
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from tests.helpers.digests import NOW, add_items, add_person, digest_rows


def test_a_chunk_is_recorded_once_with_its_payloads(any_store: Store, engine: Engine) -> None:
    people = [add_person(PeopleStore(engine), n) for n in range(3)]
    (item,) = add_items(any_store, ["Story"])
    rows = DigestRows(engine)
    big = "x" * 20_000  # a payload PostgreSQL compresses (lz4 where the server has it)

    def payload(d: NewDigest, digest_id: int) -> str:
        return json.dumps({"id": digest_id, "person_id": d.person_id, "text": big})

    chunk = [NewDigest(p.id, "2026-11-02", NOW, [PickRow(item, "for_you", 0.5)]) for p in people]
    stored = rows.record_many(chunk[:2], now=NOW, payload=payload)
    again = rows.record_many(chunk, now=NOW, payload=payload)  # two of three exist already
    assert set(stored) == {people[0].id, people[1].id} and set(again) == {people[2].id}
    recorded = digest_rows(engine)
    assert len(recorded) == 3
    for digest_id, row in recorded.items():
        body = json.loads(row["payload"])
        assert body["id"] == digest_id and body["text"] == big
        assert row["item_count"] == 1 and row["email_status"] == "pending"
        assert row["seen_item_id"] == item
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            has_lz4 = conn.execute(
                text(
                    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                    " WHERE name = 'default_toast_compression'"
                )
            ).scalar()
            methods = conn.execute(
                text("SELECT DISTINCT pg_column_compression(payload) FROM digest")
            ).scalars()
            assert list(methods) == (["lz4"] if has_lz4 else ["pglz"])
