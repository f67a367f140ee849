"""The fixture feeds in ``tests/data``: each document, its expectation, and what it parses to.

A document is any file there but the expectations (``NAME.expected.json``) and the README.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.ingest.parse import parse_feed
from curation.ingest.records import ParsedFeed
from tests.helpers.paths import DATA

#: The clock the fixtures are parsed at (dates later than this are clamped by the parser).
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
EXPECTED_SUFFIX = ".expected.json"


def documents() -> list[Path]:
    return sorted(
        p
        for p in DATA.iterdir()
        if p.is_file() and not p.name.endswith(EXPECTED_SUFFIX) and p.name != "README.md"
    )


def expected_path(document: Path) -> Path:
    return document.with_name(document.stem + EXPECTED_SUFFIX)


def expectation(document: Path) -> dict[str, Any]:
    return json.loads(expected_path(document).read_text(encoding="utf-8"))


def parse_document(document: Path) -> ParsedFeed:
    """The document parsed as fetched from its expectation's ``feed_url``."""
    return parse_feed(document.read_bytes(), url=expectation(document)["feed_url"], now=NOW)


def html_fields() -> list[str]:
    """Every summary and content of every fixture feed, as the parser gives them (raw HTML)."""
    return [
        field
        for document in documents()
        for entry in parse_document(document).entries
        for field in (entry.summary, entry.content)
        if field
    ]
