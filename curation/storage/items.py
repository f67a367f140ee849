"""Reading items for curators: filtered, searched, paginated lists and single items.

The only module that runs SQL for item queries (ingest writes items through
:mod:`.feeds`). Callers get :class:`ItemRecord` dataclasses and :class:`Page` objects.

- **Order and pages**: newest stored first (``id`` descending), paged by an opaque keyset
  cursor (the last id seen), so a page never repeats or skips an item while new ones arrive.
- **since** filters on ``first_seen_at`` (when we first stored the item), which every item has
  and which only grows; ``published_at`` is the feed's claim and may be missing or far off.
- **source_id** matches every item the source carried, not only those it was first seen in.
- **q** is full-text search in which every word must appear (stemmed, case-insensitive):
  SQLite's FTS5 table ``item_fts`` (kept in sync by triggers, migration 0003), or PostgreSQL's
  ``plainto_tsquery`` against the GIN-indexed ``to_tsvector('english', title || ' ' || text)``.
  The user's words are quoted, so no input can change the FTS5 query's syntax.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Engine, bindparam, column, exists, func, literal_column, select, table, text

from curation.errors import InvalidInput, NotFound
from curation.storage.tables import Item, ItemSource, Source

I = Item.__table__  # noqa: E741
L = ItemSource.__table__
S = Source.__table__

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 20

# the indexed expression of migration 0003 (must match it exactly for the index to be used)
PG_DOCUMENT = "to_tsvector('english'::regconfig, item.title || ' ' || item.text)"
_LIST_COLUMNS = (
    I.c.id,
    I.c.title,
    I.c.url,
    I.c.summary_html,
    I.c.author,
    I.c.published_at,
    I.c.first_seen_at,
    I.c.origin_source_id,
)
_FTS = table("item_fts", column("rowid"))
_WORD = re.compile(r"\w")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SourceRef:
    id: int
    title: str | None


@dataclass(frozen=True, slots=True)
class ItemRecord:
    id: int
    title: str  # plain text
    url: str | None
    summary: str  # sanitised HTML
    author: str | None
    published_at: datetime | None
    first_seen_at: datetime
    source: SourceRef | None  # where it was first seen (None once that source is deleted)
    sources: tuple[SourceRef, ...]  # every source that carried it
    content: str | None = None  # sanitised HTML; only filled by ItemQueries.get


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


# ---- cursors and limits (shared by every paginated list) ----------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor stands for, or None for the first page; :class:`InvalidInput` if forged."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raw = ""
    kind, _, value = raw.partition(":")
    if kind != "id" or not value.isdigit() or len(value) > 18:
        raise InvalidInput("cursor is not valid: pass the next_cursor of a previous page")
    return int(value)


def check_limit(limit: int, maximum: int = MAX_LIMIT) -> int:
    if not 1 <= limit <= maximum:
        raise InvalidInput(f"limit must be between 1 and {maximum}")
    return limit


def page_of(rows: Sequence[T], limit: int, key: str = "id") -> Page[T]:
    """Cut ``limit + 1`` fetched rows to a page; the extra row only says there is a next one."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(getattr(items[-1], key)) if more and items else None)


# ---- search ------------------------------------------------------------------------------


def search_terms(q: str) -> list[str]:
    """The words of a query: whitespace-separated, NULs dropped, at most MAX_QUERY_TERMS."""
    words = q.replace("\x00", " ")[:MAX_QUERY_CHARS].split()
    return [w for w in words if _WORD.search(w)][:MAX_QUERY_TERMS]


def fts5_match(terms: Sequence[str]) -> str:
    """An FTS5 query in which every term must appear, each a quoted string (``"`` doubled),
    so that operators, column filters and stray quotes in user input stay plain text."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


# ---- queries -----------------------------------------------------------------------------


class ItemQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def list(
        self,
        *,
        source_id: int | None = None,
        q: str | None = None,
        since: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[ItemRecord]:
        check_limit(limit)
        before = decode_cursor(cursor)
        query = select(*_LIST_COLUMNS).order_by(I.c.id.desc()).limit(limit + 1)
        if before is not None:
            query = query.where(I.c.id < before)
        if since is not None:
            query = query.where(I.c.first_seen_at >= since)
        if source_id is not None:
            self._check_source(source_id)
            carried = (L.c.item_id == I.c.id) & (L.c.source_id == source_id)
            query = query.where(exists().where(carried))
        if q is not None and q.strip():
            terms = search_terms(q)
            if not terms:
                return Page([], None)
            query = query.where(self._matches(terms))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            records = self._records(conn, rows, with_content=False)
        return page_of(records, limit)

    def get(self, item_id: int) -> ItemRecord:
        with self.engine.connect() as conn:
            query = select(*_LIST_COLUMNS, I.c.content_html).where(I.c.id == item_id)
            rows = conn.execute(query).all()
            if not rows:
                raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
            return self._records(conn, rows, with_content=True)[0]

    def exists(self, item_id: int) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(I.c.id).where(I.c.id == item_id)).first() is not None

    # ---- helpers ---------------------------------------------------------------------------

    def _matches(self, terms: list[str]):  # noqa: ANN202
        if self.dialect == "sqlite":
            match = bindparam("fts_match", fts5_match(terms))
            hits = select(_FTS.c.rowid).where(text("item_fts MATCH :fts_match").bindparams(match))
            return I.c.id.in_(hits)
        query = func.plainto_tsquery(literal_column("'english'::regconfig"), " ".join(terms))
        return literal_column(PG_DOCUMENT).op("@@")(query)

    def _check_source(self, source_id: int) -> None:
        with self.engine.connect() as conn:
            if conn.execute(select(S.c.id).where(S.c.id == source_id)).first() is None:
                raise NotFound(f"source {source_id} does not exist", resource_id=source_id)

    def _records(self, conn, rows: Sequence, *, with_content: bool) -> list[ItemRecord]:  # noqa: ANN001
        ids = [r.id for r in rows]
        carried: dict[int, list[SourceRef]] = {}
        titles: dict[int, str | None] = {}
        if ids:
            links = (
                select(L.c.item_id, S.c.id, S.c.title)
                .join(S, S.c.id == L.c.source_id)
                .where(L.c.item_id.in_(ids))
                .order_by(L.c.id)
            )
            for item_id, sid, title in conn.execute(links):
                carried.setdefault(item_id, []).append(SourceRef(sid, title))
                titles[sid] = title
            origins = {r.origin_source_id for r in rows if r.origin_source_id} - set(titles)
            if origins:
                for sid, title in conn.execute(
                    select(S.c.id, S.c.title).where(S.c.id.in_(origins))
                ):
                    titles[sid] = title
        return [
            ItemRecord(
                id=r.id,
                title=r.title,
                url=r.url,
                summary=r.summary_html,
                author=r.author,
                published_at=r.published_at,
                first_seen_at=r.first_seen_at,
                source=(
                    SourceRef(r.origin_source_id, titles.get(r.origin_source_id))
                    if r.origin_source_id in titles
                    else None
                ),
                sources=tuple(carried.get(r.id, ())),
                content=r.content_html if with_content else None,
            )
            for r in rows
        ]
