"""Writing a feed document: Atom (RFC 4287, by feedgen) and JSON Feed 1.1. Pure: no I/O.

The one writer behind the collections' feeds (:mod:`curation.curate.feeds`) and each person's
digest feed (:mod:`curation.publish.digest_feed`); they say *what* goes in a feed as a
:class:`FeedHead` and :class:`FeedItem`\\ s, this module says how it is written. Ids are
``urn:uuid`` names derived from the service's base URL and a path (:func:`urn`), so they stay
the same when a feed's public token is rotated. Only http(s) item links are written. feedgen
has no JSON Feed output, so that one is a plain ``json.dumps``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from feedgen.feed import FeedGenerator

from curation.weblinks import web_url

GENERATOR = "curation"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_TYPE = "application/atom+xml"
JSON_FEED_TYPE = "application/feed+json"


@dataclass(frozen=True, slots=True)
class FeedHead:
    """What a feed says about itself."""

    id: str  # a urn (:func:`urn`)
    title: str
    description: str
    updated: datetime
    atom_url: str
    json_url: str


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry. ``text`` is plain text: Atom's ``summary`` or ``content`` (``text_as``)."""

    id: str  # a urn (:func:`urn`)
    title: str
    url: str | None  # written only if it is an http(s) URL
    text: str
    at: datetime  # published and updated
    text_as: Literal["summary", "content"] = "summary"
    author: str | None = None
    tag: str | None = None  # an Atom category term, a JSON Feed tag
    tag_label: str | None = None  # the Atom category's label
    extra: Mapping[str, object] = field(default_factory=dict)  # JSON Feed extension keys


def urn(base_url: str, path: str) -> str:
    """A stable ``urn:uuid`` for ``path`` on the service at ``base_url``."""
    return uuid.uuid5(uuid.NAMESPACE_URL, base_url.rstrip("/") + path).urn


def atom(head: FeedHead, items: Sequence[FeedItem]) -> bytes:
    """The Atom document, items in the given order."""
    fg = FeedGenerator()
    fg.id(head.id)
    fg.title(head.title)
    if head.description:
        fg.subtitle(head.description)
    fg.author({"name": GENERATOR})
    fg.link(href=head.atom_url, rel="self", type=ATOM_TYPE)
    fg.link(href=head.json_url, rel="alternate", type=JSON_FEED_TYPE)
    fg.generator(GENERATOR)
    fg.updated(head.updated)
    for item in items:
        entry = fg.add_entry(order="append")
        entry.id(item.id)
        entry.title(item.title)
        link = web_url(item.url)
        if link:
            entry.link(href=link, rel="alternate")
        if item.text_as == "content":
            entry.content(item.text, type="text")
        else:
            entry.summary(item.text)
        entry.published(item.at)
        entry.updated(item.at)
        if item.author:
            entry.author({"name": item.author})
        if item.tag:
            entry.category(term=item.tag, label=item.tag_label)
    return fg.atom_str(pretty=True)


def json_feed(head: FeedHead, items: Sequence[FeedItem]) -> bytes:
    """The JSON Feed 1.1 document, items in the given order."""
    out = []
    for item in items:
        doc_item: dict[str, object] = {
            "id": item.id,
            "title": item.title,
            "content_text": item.text,
            "date_published": item.at.isoformat(),
            "date_modified": item.at.isoformat(),
        }
        if item.tag:
            doc_item["tags"] = [item.tag]
        doc_item.update(item.extra)
        link = web_url(item.url)
        if link:
            doc_item["url"] = link
        if item.author:
            doc_item["authors"] = [{"name": item.author}]
        out.append(doc_item)
    doc: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": head.title,
        "feed_url": head.json_url,
        "authors": [{"name": GENERATOR}],
        "items": out,
    }
    if head.description:
        doc["description"] = head.description
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
