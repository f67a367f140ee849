"""A person's recorded digests as a feed: Atom (RFC 4287, by feedgen) and JSON Feed 1.1. Pure.

One entry per picked item: its title and link, and as its text the *why* the digest carries
and, on a gem, the curator's note. An entry's id is a ``urn:uuid`` named from the service's
base URL, the person and the item (an item is in a person's digests at most once), so it is
the same on every request and after the token is rotated. The feed's ``updated`` is when the
newest digest was last filled. The documents are written by :mod:`curation.publish.feed_writer`,
as the collections' are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from curation.digest.view import DigestView, EntryView
from curation.publish import feed_writer
from curation.publish.feed_writer import FeedHead, FeedItem, urn

FEED_PATH = "/v1/digest-feeds"  # + /{token}.atom or /{token}.json


@dataclass(frozen=True, slots=True)
class PersonalFeedSpec:
    person_id: int
    title: str
    base_url: str
    atom_url: str
    json_url: str
    updated_at: datetime  # when there is no digest yet: when the feed was made


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One picked item of one recorded digest."""

    day: str
    at: datetime  # when its digest was (last) filled
    entry: EntryView


def entries_of(digests: Sequence[tuple[datetime, DigestView]]) -> list[FeedEntry]:
    """Every picked item of these digests (newest digest first), in the digest's order."""
    return [
        FeedEntry(view.date, at, entry)
        for at, view in digests
        for section in view.sections
        for entry in section.items
    ]


def entry_id(spec: PersonalFeedSpec, item_id: int) -> str:
    return urn(spec.base_url, f"/v1/people/{spec.person_id}/digest-items/{item_id}")


def text_of(entry: EntryView) -> str:
    """The entry's text: why it was picked, then the curator's note on a gem."""
    parts = [f"Why: {entry.why}"] if entry.why else []
    if entry.gem and entry.gem.note:
        by = f" ({entry.gem.curator})" if entry.gem.curator else ""
        parts.append(f"Curator's note{by}: {entry.gem.note}")
    return "\n\n".join(parts) or entry.item.excerpt or entry.item.title


def _head(spec: PersonalFeedSpec, entries: Sequence[FeedEntry]) -> FeedHead:
    return FeedHead(
        id=urn(spec.base_url, f"/v1/people/{spec.person_id}/digest-feed"),
        title=spec.title,
        description="",
        updated=max([e.at for e in entries], default=spec.updated_at),
        atom_url=spec.atom_url,
        json_url=spec.json_url,
    )


def _items(spec: PersonalFeedSpec, entries: Sequence[FeedEntry]) -> list[FeedItem]:
    items = []
    for e in entries:
        item = e.entry.item
        extra: dict[str, object] = {"day": e.day, "why": e.entry.why, "score": e.entry.score}
        if e.entry.gem:
            extra["curator_note"] = e.entry.gem.note
        items.append(
            FeedItem(
                id=entry_id(spec, item.id),
                title=item.title or "(untitled)",
                url=item.url,
                text=text_of(e.entry),
                at=e.at,
                text_as="content",
                tag=e.day,
                tag_label=f"digest of {e.day}",
                extra={"_curation": extra},
            )
        )
    return items


def atom(spec: PersonalFeedSpec, entries: Sequence[FeedEntry]) -> bytes:
    return feed_writer.atom(_head(spec, entries), _items(spec, entries))


def json_feed(spec: PersonalFeedSpec, entries: Sequence[FeedEntry]) -> bytes:
    return feed_writer.json_feed(_head(spec, entries), _items(spec, entries))
