"""The fixture feeds in ``tests/data`` (RSS 2.0, Atom 1.0, JSON Feed 1.1, RSS 0.91 with entities,
a broken document for feedparser, hostile HTML) parsed and cleaned, compared with the expected
result written beside each. See ``tests/data/README.md``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from curation.ingest.clean import clean_entry
from curation.ingest.records import CleanItem
from tests.helpers.fixture_feeds import documents, expectation, expected_path, parse_document
from tests.helpers.safety import assert_safe

FALLBACK_WARNING = "fallback parser used:"
SOURCE_ID = 1


def _case(document: Path):  # noqa: ANN202
    if not expected_path(document).is_file():
        return pytest.param(document, id=document.name)  # fails below: every document needs one
    defect = expectation(document).get("known_defect")
    marks = [pytest.mark.xfail(reason=defect, strict=True)] if defect else []
    return pytest.param(document, id=document.name, marks=marks)


def _as_json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _compared(item: CleanItem, fields: dict[str, object]) -> dict[str, object]:
    """The item's values of the fields the expectation names, as the JSON writes them."""
    values = item._asdict()
    return {
        name: _as_json(values[name]) if name in values else "<no such field>" for name in fields
    }


def test_every_kind_of_fixture_is_there() -> None:
    kinds = {"rss2.xml", "atom.xml", "jsonfeed.json", "rss091.xml", "broken.xml", "hostile.xml"}
    assert kinds <= {d.name for d in documents()}


@pytest.mark.parametrize("document", [_case(d) for d in documents()])
def test_fixture_feed_parses_and_cleans_as_expected(document: Path) -> None:
    assert expected_path(document).is_file(), (
        f"{document.name} has no {expected_path(document).name}"
    )
    expected = expectation(document)
    feed = parse_document(document)

    assert {"version": feed.version, "title": feed.title, "link": feed.link} == expected["feed"]
    used_fallback = any(w.startswith(FALLBACK_WARNING) for w in feed.warnings)
    assert used_fallback == expected["fallback"], feed.warnings

    items = [
        clean_entry(e, source_id=SOURCE_ID, feed_url=expected["feed_url"]) for e in feed.entries
    ]
    assert len(items) == len(expected["entries"])
    for n, (item, want) in enumerate(zip(items, expected["entries"], strict=True)):
        assert _compared(item, want) == want, f"entry {n} of {document.name}"
        assert_safe(item.summary_html)
        assert_safe(item.content_html)
