"""Which stored item an incoming entry is, for the write path of :mod:`curation.storage.feeds`.

- Across feeds an article is its canonical URL; which feed's version is shown is the business
  of :mod:`curation.ingest.ownership`.
- An entry without a link is keyed by its source's ``item_key`` (a hash of the URL the source
  was added with, kept across redirects) and its GUID (:meth:`FeedContext.stable_keys`), never
  by the source's row id: a source deleted and added again finds its link-less entries already
  stored, and already delivered.
- Within one feed an entry is its GUID; an entry back under a GUID the feed has not used, with a
  link (or, without one, a title and date) the feed already carries under a GUID the document no
  longer holds, is the same entry (:func:`renamed`): its link is re-keyed rather than a story
  added. A feed doing that to half its entries or more is flagged (:data:`CHURN_WARNING`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from sqlalchemy import Connection, select

from curation.ingest.records import CleanItem
from curation.storage.sources import chunks, item_key_of
from curation.storage.tables import Item, ItemSource, Source

__all__ = ["CHURN_WARNING", "FeedContext", "Stored", "renamed"]

#: the warning of a feed whose entries keep coming back under new GUIDs
CHURN_WARNING = "ids change on every fetch"

item_table = Item.__table__
item_source_table = ItemSource.__table__
source_table = Source.__table__

# the entries a source carries, by canonical link, under whatever GUID
_CARRIED_SQL = (
    "SELECT i.dedupe_key, l.id, l.guid, i.id, i.content_hash, i.origin_source_id, o.url "
    "FROM item_source l JOIN item i ON i.id = l.item_id "
    "LEFT JOIN source o ON o.id = i.origin_source_id "
    "WHERE l.source_id = {m} AND i.dedupe_key IN ({in})"
)

#: runs a template with ``{m}`` markers and an ``{in}`` list (``Store._select_in``)
SelectIn = Callable[..., list[tuple]]


class Stored(NamedTuple):
    """A stored item as the write path needs it: its id, content hash and owner."""

    item_id: int
    content_hash: str
    owner_id: int | None
    owner_url: str | None


class FeedContext:
    """One feed being stored, with its source's URL and item key read only when needed."""

    __slots__ = ("_read_source", "_row", "_site_url", "_item_key", "_warnings", "source_id")

    def __init__(
        self,
        source_id: int,
        *,
        site_url: str | None,
        item_key: str | None,
        warnings: Sequence[str],
        read_source: Callable[[], tuple[str, str | None]],
    ) -> None:
        self.source_id = source_id
        self._site_url = site_url
        self._item_key = item_key
        self._warnings = warnings
        self._read_source = read_source  # the source row's (url, item_key)
        self._row: tuple[str, str | None] | None = None

    def _source(self) -> tuple[str, str | None]:
        if self._row is None:
            self._row = self._read_source()
        return self._row

    def site_url(self) -> str | None:
        """Where the feed was served from: it speaks for articles of that site."""
        return self._site_url or self._source()[0] or None

    def item_key(self) -> str:
        if self._item_key:
            return self._item_key
        url, key = self._source()
        return key or item_key_of(url)

    def stable_keys(self, items: list[CleanItem]) -> list[CleanItem]:
        """Link-less entries keyed by the source's item key instead of its row id (the cleaner's
        ``src:<id>:<guid>``), so that they keep their identity if the source is added again."""
        prefix = f"src:{self.source_id}:"
        if not any(it.dedupe_key.startswith(prefix) for it in items):
            return items
        key = self.item_key()
        return [
            it._replace(dedupe_key=f"{key}:{it.guid}") if it.dedupe_key.startswith(prefix) else it
            for it in items
        ]

    def warning(self, rekeyed: int, total: int) -> str | None:
        """What the source row says about the feed after this fetch (None: nothing odd)."""
        notes = list(self._warnings)
        if rekeyed and 2 * rekeyed >= total:
            notes.append(
                f"{CHURN_WARNING}: {rekeyed} of {total} entries came back under new ids "
                "(matched by link, or by title and date), kept as the same stories"
            )
        return "; ".join(notes)[:2000] or None


def renamed(
    conn: Connection,
    select_in: SelectIn,
    source_id: int,
    items: list[CleanItem],
    known: dict[str, Stored],
) -> list[tuple[int, CleanItem, Stored]]:
    """Entries under a GUID this source has not used, that it already carries under another
    GUID the document no longer holds: same canonical link, or (no link) same title and date.
    Each is ``(link id, entry, stored item)``; a stored link matches once."""
    present = {it.guid for it in items}
    fresh = [it for it in items if it.guid not in known]
    if not fresh:
        return []
    taken: set[int] = set()
    out: list[tuple[int, CleanItem, Stored]] = []
    linked = {it.dedupe_key: it for it in reversed(fresh) if it.url}  # the first one wins
    for chunk in chunks(list(linked)):
        for key, link_id, guid, *stored in select_in(conn, _CARRIED_SQL, chunk, source_id):
            if guid in present or link_id in taken or key not in linked:
                continue
            taken.add(link_id)
            out.append((link_id, linked.pop(key), Stored(*stored)))
    bare = [it for it in fresh if not it.url]
    if bare:
        out.extend(_renamed_bare(conn, source_id, bare, present, taken))
    return out


def _renamed_bare(
    conn: Connection,
    source_id: int,
    bare: list[CleanItem],
    present: set[str],
    taken: set[int],
) -> list[tuple[int, CleanItem, Stored]]:
    """:func:`renamed` for entries without a link: matched by title and date (rare: a readable
    query is worth more here than the hot path's driver SQL)."""
    owner = source_table.alias("o")
    out = []
    wanted = {(it.title, it.published_at): it for it in reversed(bare)}  # the first one wins
    for chunk in chunks(list({it.title for it in bare})):
        query = (
            select(
                item_source_table.c.id,
                item_source_table.c.guid,
                item_table.c.title,
                item_table.c.published_at,
                item_table.c.id.label("item_id"),
                item_table.c.content_hash,
                item_table.c.origin_source_id,
                owner.c.url,
            )
            .join(item_table, item_table.c.id == item_source_table.c.item_id)
            .outerjoin(owner, owner.c.id == item_table.c.origin_source_id)
            .where(
                item_source_table.c.source_id == source_id,
                item_table.c.url.is_(None),
                item_table.c.title.in_(chunk),
            )
            .order_by(item_source_table.c.id)
        )
        for row in conn.execute(query):
            key = (row.title, row.published_at)
            if key not in wanted or row.guid in present or row.id in taken:
                continue
            taken.add(row.id)
            stored = Stored(row.item_id, row.content_hash, row.origin_source_id, row.url)
            out.append((row.id, wanted.pop(key), stored))
    return out
