"""A collection as a feed: Atom (RFC 4287, written by feedgen) and JSON Feed 1.1. Pure: no I/O.

Each gem is one entry: the item's title and link, the curator's note as the entry's text, the
curator as its author, and the gem's date. Entry and feed ids are ``urn:uuid`` names derived
from the service's base URL and the gem's / collection's id, so they stay the same when the
public token is rotated (a reader that re-subscribes sees no duplicates). Only http(s) item
links are written. The documents are written by :mod:`curation.publish.feed_writer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from curation.publish import feed_writer
from curation.publish.feed_writer import (  # noqa: F401 — the media types, named here for app/
    ATOM_TYPE,
    GENERATOR,
    JSON_FEED_TYPE,
    JSON_FEED_VERSION,
    FeedHead,
    FeedItem,
    urn,
)
from curation.storage.gems import GemRecord


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """What a feed says about its collection (the entries are the gems)."""

    collection_id: int
    name: str
    description: str
    updated_at: datetime
    base_url: str
    atom_url: str
    json_url: str


def _head(spec: FeedSpec, gems: Sequence[GemRecord]) -> FeedHead:
    return FeedHead(
        id=urn(spec.base_url, f"/v1/collections/{spec.collection_id}"),
        title=spec.name,
        description=spec.description,
        updated=max([spec.updated_at, *(g.created_at for g in gems)]),
        atom_url=spec.atom_url,
        json_url=spec.json_url,
    )


def _items(spec: FeedSpec, gems: Sequence[GemRecord]) -> list[FeedItem]:
    return [
        FeedItem(
            id=urn(spec.base_url, f"/v1/gems/{gem.id}"),
            title=gem.item_title or "(untitled)",
            url=gem.item_url,
            text=gem.note or gem.item_title,
            at=gem.created_at,
            author=gem.curator_name or None,
        )
        for gem in gems
    ]


def atom(spec: FeedSpec, gems: Sequence[GemRecord]) -> bytes:
    """The Atom document, gems in the collection's order."""
    return feed_writer.atom(_head(spec, gems), _items(spec, gems))


def json_feed(spec: FeedSpec, gems: Sequence[GemRecord]) -> bytes:
    """The JSON Feed 1.1 document, gems in the collection's order."""
    return feed_writer.json_feed(_head(spec, gems), _items(spec, gems))
