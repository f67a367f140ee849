"""A person's portfolio written out three ways. Pure: entries in, a document out.

- :func:`document`: the versioned JSON document (:mod:`curation.portfolio.document`), the one an
  import reads back;
- :func:`atom`: an Atom feed through our feed writer (:mod:`curation.publish.feed_writer`), one
  entry per item, newest activity first, the person's note and shares in the entry's text;
- :func:`xapi`: xAPI statements, one per saved / useful signal (and per share once the xAPI
  builders know the *shared* verb), made by :func:`curation.xapi.statements.statement` from the
  same events the outbox collects, so a statement has the same id in the export as in the LRS
  and in every later export.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from curation.ingest.clean.text import shorten_words
from curation.people.records import PersonRecord
from curation.portfolio.document import (
    MAX_SUMMARY_CHARS,
    ItemDoc,
    PersonDoc,
    PortfolioDoc,
    ShareDoc,
    SignalDoc,
    SourceDoc,
)
from curation.portfolio.records import PortfolioEntry
from curation.publish.feed_writer import FeedHead, FeedItem, urn
from curation.publish.feed_writer import atom as atom_document
from curation.storage.xapi import Event
from curation.textrules import one_line
from curation.xapi.statements import VERBS, statement

PORTFOLIO_PATH = "/v1/me/portfolio"


def document(
    person: PersonRecord, entries: Sequence[PortfolioEntry], *, now: datetime, base_url: str
) -> PortfolioDoc:
    """The JSON document of ``entries`` (oldest first), with the person's name and e-mail."""
    return PortfolioDoc(
        exported_at=now,
        source=base_url.rstrip("/"),
        person=PersonDoc(name=one_line(person.name) or "-", email=person.email),
        items=[_item(e) for e in entries],
    )


def _item(e: PortfolioEntry) -> ItemDoc:
    source = None
    if e.source_title or e.source_url:
        source = SourceDoc(title=one_line(e.source_title) or None, url=e.source_url)
    return ItemDoc(
        url=e.url,
        title=one_line(e.title) or "(untitled)",
        summary=_summary(e.text) or None,
        author=one_line(e.author) or None,
        published_at=e.published_at,
        source=source,
        signals=[SignalDoc(signal=s.signal, at=s.at) for s in e.signals],  # type: ignore[arg-type]
        note=e.note.note if e.note else None,
        note_at=e.note.updated_at if e.note else None,
        shares=[ShareDoc(team=one_line(s.team), note=s.note, at=s.at) for s in e.shares],
    )


def atom(
    person: PersonRecord, entries: Sequence[PortfolioEntry], *, now: datetime, base_url: str
) -> bytes:
    """The portfolio as an Atom feed: newest activity first; ids stable across exports."""
    base = base_url.rstrip("/")
    name = one_line(person.name) or "My"
    head = FeedHead(
        id=urn(base, f"/portfolio/{person.id}/{person.created_at.isoformat()}"),
        title=f"{name}: portfolio",
        description="Items I saved or found useful, with my notes and what I shared.",
        updated=max((e.last_at for e in entries), default=now),
        atom_url=f"{base}{PORTFOLIO_PATH}?format=atom",
        json_url=f"{base}{PORTFOLIO_PATH}?format=json",
    )
    ordered = sorted(entries, key=lambda e: (e.last_at, e.item_id), reverse=True)
    items = [
        FeedItem(
            id=urn(base, f"/portfolio/{person.id}/items/{e.item_id}"),
            title=one_line(e.title) or "(untitled)",
            url=e.url,
            text=_entry_text(e),
            at=e.last_at,
            text_as="content",
            author=one_line(e.author) or None,
            tag=e.signals[-1].signal if e.signals else "shared" if e.shares else "note",
        )
        for e in ordered
    ]
    return atom_document(head, items)


def _entry_text(e: PortfolioEntry) -> str:
    parts = []
    if e.note is not None:
        parts.append(f"My note: {e.note.note}")
    for share in e.shares:
        said = f": {share.note}" if share.note else ""
        parts.append(f"Shared with {share.team} on {share.at:%Y-%m-%d}{said}")
    summary = _summary(e.text)
    if summary:
        parts.append(summary)
    return "\n\n".join(parts)


def _summary(text: str) -> str:
    """The head of the item's text, cut at a word (only the head is cleaned: texts are long)."""
    return shorten_words(text[: 4 * MAX_SUMMARY_CHARS], MAX_SUMMARY_CHARS)


def events(person_id: int, entries: Sequence[PortfolioEntry]) -> list[Event]:
    """The events the xAPI outbox would collect for these entries (same kinds, same times)."""
    out = []
    for e in entries:
        out += [Event(s.signal, person_id, e.item_id, s.at, e.title, e.url) for s in e.signals]
        if "shared" in VERBS:  # the verb the xAPI builders gain with teams
            out += [Event("shared", person_id, e.item_id, s.at, e.title, e.url) for s in e.shares]
    out.sort(key=lambda ev: (ev.at, ev.item_id, ev.kind))
    return out


def xapi(person_id: int, entries: Sequence[PortfolioEntry], *, base_url: str) -> list[dict]:
    """xAPI statements (JSON-ready) for the entries' signals, oldest first."""
    return [statement(ev, base_url=base_url) for ev in events(person_id, entries)]
