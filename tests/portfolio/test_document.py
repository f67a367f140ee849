"""The pure parts of the portfolio: the JSON document written and read back, the import plan
(dedupe keys by the ingest rules, clamped times), the Atom and xAPI writers, the saved cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from curation.errors import InvalidInput
from curation.ingest.clean import canonical_url
from curation.people.records import PersonRecord
from curation.portfolio import export, restore
from curation.portfolio.document import read
from curation.portfolio.records import NoteRecord, PortfolioEntry, ShareMark, SignalMark
from curation.portfolio.service import (
    clean_personal_note,
    decode_saved_cursor,
    encode_saved_cursor,
)
from curation.xapi.statements import statement_id

NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)
BASE = "https://curation.example.org"
PERSON = PersonRecord(7, "ada@example.org", "Ada", "learner", "UTC", 7, True, NOW)


def _entry(item_id: int, url: str | None, **kw: object) -> PortfolioEntry:
    fields: dict = {
        "item_id": item_id,
        "url": url,
        "title": f"Title {item_id}",
        "text": "Some text " * 300,
        "author": None,
        "published_at": NOW - timedelta(days=30),
        "source_title": "A feed",
        "source_url": "https://feed.example.org/",
        "signals": (SignalMark("saved", NOW - timedelta(days=2)),),
        "note": None,
        "shares": (),
    }
    return PortfolioEntry(**(fields | kw))


ENTRIES = [
    _entry(1, "https://Example.org/a?utm_source=mail&id=3#top"),
    _entry(
        2,
        None,
        note=NoteRecord(2, "line one\nline two", NOW - timedelta(days=1), NOW),
        shares=(ShareMark("Data team", "look", NOW - timedelta(hours=5)),),
        signals=(SignalMark("useful", NOW - timedelta(days=3)),),
    ),
]


def test_the_document_reads_back_what_it_wrote() -> None:
    doc = export.document(PERSON, ENTRIES, now=NOW, base_url=BASE)
    again = read(doc.to_json(), max_items=10)
    assert again == doc
    assert again.items[0].summary and len(again.items[0].summary) <= 501
    assert again.items[1].note == "line one\nline two"
    assert again.items[1].shares[0].team == "Data team"


def test_the_plan_uses_the_ingest_keys_and_clamps_times() -> None:
    doc = export.document(PERSON, ENTRIES, now=NOW, base_url=BASE)
    first, second = restore.plan(doc, now=NOW)
    assert first.item.dedupe_key == canonical_url(ENTRIES[0].url) == "https://example.org/a?id=3"
    assert second.item.dedupe_key.startswith(restore.NO_URL_PREFIX)
    assert restore.plan(doc, now=NOW)[1].item.dedupe_key == second.item.dedupe_key  # stable
    assert first.first_seen_at == NOW - timedelta(days=30)  # published: older than the save
    assert second.note == "line one\nline two" and second.note_at == NOW

    future = doc.model_copy(
        update={
            "items": [
                doc.items[0].model_copy(
                    update={
                        "signals": [
                            doc.items[0]
                            .signals[0]
                            .model_copy(update={"at": NOW + timedelta(days=9)})
                        ],
                        "published_at": None,
                    }
                )
            ]
        }
    )
    (clamped,) = restore.plan(future, now=NOW)
    assert clamped.signals[0].at == NOW and clamped.first_seen_at == NOW


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xff", "not a JSON document"),
        (b"[]", "not a portfolio export"),
        (b'{"format": "curation-portfolio", "version": "1"}', "version '1'"),
        (b'{"format": "curation-portfolio", "version": 1, "items": [1, 2, 3]}', "3 items"),
        (
            b'{"format": "curation-portfolio", "version": 1, "exported_at": "2026-11-01T00:00:00",'
            b' "person": {"name": "x"}, "items": []}',
            "exported_at",
        ),
    ],
)
def test_bad_documents_say_what_is_wrong(raw: bytes, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        read(raw, max_items=2)


def test_atom_and_xapi() -> None:
    feed = feedparser.parse(export.atom(PERSON, ENTRIES, now=NOW, base_url=BASE))
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["Title 2", "Title 1"]  # newest activity first
    assert "My note: line one" in feed.entries[0].content[0].value
    assert "Shared with Data team" in feed.entries[0].content[0].value
    assert export.atom(PERSON, ENTRIES, now=NOW + timedelta(days=1), base_url=BASE) == (
        export.atom(PERSON, ENTRIES, now=NOW, base_url=BASE)
    )  # nothing depends on the time of the export

    statements = export.xapi(PERSON.id, ENTRIES, base_url=BASE)
    events = export.events(PERSON.id, ENTRIES)
    assert [s["id"] for s in statements] == [statement_id(e) for e in events]
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["useful", "saved"]  # oldest first
    assert statements[1]["object"]["id"] == ENTRIES[0].url
    assert statements[0]["object"]["id"] == f"{BASE}/v1/items/2"  # no web address


def test_saved_cursor_and_notes() -> None:
    at = datetime(2026, 11, 5, 12, 30, 1, 123456, tzinfo=UTC)
    assert decode_saved_cursor(encode_saved_cursor(at, 42)) == (at, 42)
    for forged in ("eA", "aWQ6MTI", "c2F2ZWQ6eDox"):  # "x", "id:12", "saved:x:1"
        with pytest.raises(InvalidInput):
            decode_saved_cursor(forged)
    assert clean_personal_note("  a\n b ") == "a\n b"
    for bad in ("", " ", "x" * 2001, "\x00"):
        with pytest.raises(InvalidInput):
            clean_personal_note(bad)
