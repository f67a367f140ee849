"""The digest as people see it: one typed object that the API and the e-mail both render.

A :class:`DigestView` is built once (when the digest is recorded) and stored as JSON, so the
API's ``GET /v1/me/digest`` and the e-mail show exactly the same content, every time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime

from curation.records import SourceRef


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    title: str  # plain text: escape on output
    url: str | None
    summary: str  # sanitised HTML
    excerpt: str  # plain text, short
    published_at: datetime | None
    source: SourceRef | None
    sources: tuple[SourceRef, ...] = ()


@dataclass(frozen=True, slots=True)
class GemView:
    id: int
    note: str  # plain text
    curator: str | None = None


@dataclass(frozen=True, slots=True)
class EntryView:
    item: ItemView
    score: float
    why: str  # plain text
    gem: GemView | None = None
    # a team share (section "team"): who shared it ("a former member" once deleted), their
    # note (plain text; gone with the sharer) and the share's id; None elsewhere
    shared_by: str | None = None
    note: str | None = None
    share_id: int | None = None


@dataclass(frozen=True, slots=True)
class SectionView:
    key: str  # for_you | team | gems
    title: str
    items: tuple[EntryView, ...]


@dataclass(frozen=True, slots=True)
class DigestView:
    id: int
    person_id: int
    date: str  # YYYY-MM-DD, the person's local date
    created_at: datetime
    sections: tuple[SectionView, ...]
    #: "recorded" (built at the digest hour, or on the first request after it, then never
    #: changed except to fill an empty day) or "preview" (before the hour: live, not recorded)
    status: str = "recorded"
    ready_at: datetime | None = None  # for a preview: when the day's digest will be recorded
    note: str | None = None  # why it is empty, when something other than a quiet day is why

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    def to_json(self, items: ItemTexts | None = None) -> str:
        """The view as stored. ``items``: the items already encoded by this call's caller, which
        it shares between the digests of a batch (an item is in many of them); the same text
        with or without."""
        if items is None:
            return _dumps(_plain(self))
        head = {
            name: _SECTIONS_MARK if name == "sections" else _plain(getattr(self, name))
            for name in _FIELDS_OF_DIGEST
        }
        sections = ", ".join(_section_json(s, items) for s in self.sections)
        return _dumps(head).replace(f'"{_SECTIONS_MARK}"', f"[{sections}]", 1)

    @classmethod
    def from_json(cls, text: str) -> DigestView:
        data = json.loads(text)
        return cls(
            id=data["id"],
            person_id=data["person_id"],
            date=data["date"],
            created_at=datetime.fromisoformat(data["created_at"]),
            sections=tuple(_section(s) for s in data["sections"]),
            status=data.get("status", "recorded"),
            ready_at=datetime.fromisoformat(data["ready_at"]) if data.get("ready_at") else None,
            note=data.get("note"),
        )


#: per type met: its field names if it is a dataclass, else None
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _plain(value: object) -> object:
    """``dataclasses.asdict`` without its deep copies (a digest is made of immutable values,
    so the same JSON at a fraction of the cost: this runs once per digest built)."""
    kind = type(value)
    try:
        names = _FIELDS[kind]
    except KeyError:
        names = _FIELDS[kind] = (
            tuple(f.name for f in fields(value)) if is_dataclass(value) else None
        )
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is tuple or kind is list:
        return [_plain(v) for v in value]  # type: ignore[attr-defined]
    return value


#: per item view (by identity): the view and its JSON text; see :meth:`DigestView.to_json`
ItemTexts = dict[int, tuple[ItemView, str]]
_FIELDS_OF_DIGEST = tuple(f.name for f in fields(DigestView))
_FIELDS_OF_SECTION = tuple(f.name for f in fields(SectionView))
_FIELDS_OF_ENTRY = tuple(f.name for f in fields(EntryView))
_SECTIONS_MARK = "\ue000sections\ue001"  # no JSON string of ours can be exactly this, quoted
# the texts are put together in field order: a section's entries come last, an entry's item first
assert _FIELDS_OF_SECTION[-1] == "items" and _FIELDS_OF_ENTRY[0] == "item"


def _dumps(value: object) -> str:
    return json.dumps(value, default=_encode, ensure_ascii=False)


def _section_json(section: SectionView, items: ItemTexts) -> str:
    head = _dumps({name: getattr(section, name) for name in _FIELDS_OF_SECTION[:-1]})[:-1]
    entries = ", ".join(_entry_json(e, items) for e in section.items)
    return f'{head}, "items": [{entries}]}}'


def _entry_json(entry: EntryView, items: ItemTexts) -> str:
    """``_dumps(_plain(entry))``, with the item's text taken from (or added to) ``items``."""
    found = items.get(id(entry.item))
    if found is None or found[0] is not entry.item:
        found = items[id(entry.item)] = (entry.item, _dumps(_plain(entry.item)))
    rest = {name: _plain(getattr(entry, name)) for name in _FIELDS_OF_ENTRY[1:]}
    return f'{{"item": {found[1]}, {_dumps(rest)[1:]}'


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _source(data: dict | None) -> SourceRef | None:
    return SourceRef(data["id"], data["title"]) if data else None


def _section(data: dict) -> SectionView:
    entries = []
    for e in data["items"]:
        it = e["item"]
        item = ItemView(
            id=it["id"],
            title=it["title"],
            url=it["url"],
            summary=it["summary"],
            excerpt=it["excerpt"],
            published_at=datetime.fromisoformat(it["published_at"]) if it["published_at"] else None,
            source=_source(it["source"]),
            sources=tuple(SourceRef(s["id"], s["title"]) for s in it["sources"]),
        )
        gem = GemView(**e["gem"]) if e["gem"] else None
        entries.append(
            EntryView(
                item=item,
                score=e["score"],
                why=e["why"],
                gem=gem,
                shared_by=e.get("shared_by"),
                note=e.get("note"),
                share_id=e.get("share_id"),
            )
        )
    return SectionView(key=data["key"], title=data["title"], items=tuple(entries))
