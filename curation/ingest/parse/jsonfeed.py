"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org) → :class:`~curation.ingest.records.ParsedFeed`.

Called by :func:`.feed.parse_feed`, which passes its date parser in. Every field is
type-checked: a value of the wrong type is skipped, an item that is not an object is skipped, and
only a document that is not a JSON Feed at all raises :class:`~curation.errors.ParseError`: a
JSON Feed is an object whose ``version`` is a ``https://jsonfeed.org/version/…`` URL and whose
``items`` is a list; any other JSON is refused, and nothing of it is stored. Titles, summaries
and author names are plain text (the spec says so): they are never read as HTML.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urljoin

from curation.errors import ParseError
from curation.ingest.records import ParsedEntry, ParsedFeed

__all__ = ["parse_json_feed"]

DateParser = Callable[[str | None], tuple[datetime | None, str | None]]


def parse_json_feed(body: bytes, *, url: str, date: DateParser) -> ParsedFeed:
    """Parse a JSON Feed document; ``date`` turns an RFC 3339 string into a UTC datetime."""
    try:
        doc = json.loads(body)
    except UnicodeDecodeError:
        doc = _loads(body.decode("utf-8", "replace"), url)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not valid JSON: {exc}"[:200], resource_id=url) from exc
    if not isinstance(doc, dict):
        raise ParseError("JSON document is not an object", resource_id=url)
    declared = _str(doc.get("version")) or ""
    items = doc.get("items")
    if "jsonfeed.org/version/" not in declared:
        raise ParseError(
            "JSON document is not a JSON Feed (no https://jsonfeed.org/version/ URL as its "
            "version)",
            resource_id=url,
        )
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an items list", resource_id=url)
    version = {"1": "json10", "1.1": "json11"}.get(declared.rpartition("/version/")[2], "json")
    home = _link(url or None, doc.get("home_page_url"))
    feed_author = _author(doc)
    entries: list[ParsedEntry] = []
    warnings: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            warnings.append(f"item {i} skipped: not an object")
            continue
        try:
            entries.append(_entry(item, url or None, feed_author, date))
        except Exception as exc:  # one bad entry never loses the rest
            warnings.append(f"item {i} skipped: {type(exc).__name__}: {exc}")
    return ParsedFeed(version, _str(doc.get("title")), home, tuple(entries), tuple(warnings))


def _loads(text: str, url: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not valid JSON: {exc}"[:200], resource_id=url) from exc


def _str(value: Any) -> str | None:
    """A non-empty stripped string, or None for any other type."""
    if isinstance(value, str):
        return value.strip() or None
    return None


def _link(base: str | None, value: Any) -> str | None:
    ref = _str(value)
    if ref is None or base is None:
        return ref
    try:
        return urljoin(base, ref)
    except ValueError:
        return ref


def _author(holder: dict[str, Any]) -> str | None:
    """``authors[].name`` (1.1), else ``author.name`` (1.0): the first usable name."""
    authors = holder.get("authors")
    candidates = list(authors) if isinstance(authors, list) else []
    candidates.append(holder.get("author"))
    for a in candidates:
        if isinstance(a, dict) and (name := _str(a.get("name"))):
            return name
    return None


def _entry(
    item: dict[str, Any], base: str | None, feed_author: str | None, date: DateParser
) -> ParsedEntry:
    raw_id = item.get("id")
    if isinstance(raw_id, bool):
        guid = None
    elif isinstance(raw_id, int | float):
        guid = str(raw_id)  # the spec: readers coerce numeric ids to strings
    else:
        guid = _str(raw_id)
    content = _str(item.get("content_html"))
    if content is None and (text := _str(item.get("content_text"))):
        content = escape(text, quote=False)
    summary = _str(item.get("summary"))
    published, published_raw = date(_str(item.get("date_published")))
    updated, updated_raw = date(_str(item.get("date_modified")))
    return ParsedEntry(
        guid=guid,
        title=_str(item.get("title")),
        title_is_html=False,
        link=_link(base, item.get("url")) or _link(base, item.get("external_url")),
        summary=escape(summary, quote=False) if summary else None,
        content=content,
        author=_author(item) or feed_author,
        published=published,
        updated=updated,
        published_raw=published_raw,
        updated_raw=updated_raw,
    )
