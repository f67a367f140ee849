"""SQL for reading items: filtered, searched, paginated lists, single items, and the one item
loader (:meth:`ItemQueries.records`) that digests use too. Ingest writes items through
:mod:`curation.storage.feeds`. Callers get :class:`ItemRecord` objects and :class:`Page` s.

- **Order and pages**: newest stored first (``id`` descending), paged by an opaque keyset
  cursor (the last id seen), so a page never repeats or skips an item while new ones arrive.
- **since** filters on ``first_seen_at`` (when we first stored the item), which every item has
  and which only grows; ``published_at`` is the feed's claim and may be missing or far off.
- **source_id** matches every item the source carried, not only those it was first seen in.
- **q** is full-text search in which every word must appear (stemmed, case-insensitive; a
  word ending in ``*`` matches as a prefix: ``broad*``), best match first, then newest, paged
  by offset: SQLite's FTS5 table ``item_fts`` ranked by BM25, or PostgreSQL's ``to_tsquery``
  against the GIN-indexed ``to_tsvector('english', title || ' ' || text)`` ranked by
  ``ts_rank`` (normalised by length). The user's words are quoted (FTS5) or reduced to word
  characters (PostgreSQL), so no input can change either query's syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, bindparam, column, exists, func, literal_column, select, table, text

from curation.errors import NotFound
from curation.paging import (
    DEFAULT_LIMIT,
    Page,
    check_limit,
    decode_cursor,
    decode_offset,
    encode_offset,
    page_of,
)
from curation.records import ItemRecord, SourceRef
from curation.storage.tables import Item, ItemSource, Source

item_table = Item.__table__
item_source_table = ItemSource.__table__
source_table = Source.__table__

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 20

# the indexed expression of migration 0003 (must match it exactly for the index to be used)
PG_DOCUMENT = "to_tsvector('english'::regconfig, item.title || ' ' || item.text)"
#: an :class:`ItemRecord`'s columns, under its field names, and the id of its origin source
_LIST_COLUMNS = (
    item_table.c.id,
    item_table.c.title,
    item_table.c.url,
    item_table.c.summary_html.label("summary"),
    item_table.c.author,
    item_table.c.published_at,
    item_table.c.first_seen_at,
    item_table.c.origin_source_id,
)
#: where :data:`_LIST_COLUMNS` holds the origin source's id (the columns before it are an
#: :class:`ItemRecord`'s first fields, in order)
_ORIGIN = 7
#: the sources that carried each of the items ``ids``, oldest link first
_SOURCES_OF = (
    select(item_source_table.c.item_id, source_table.c.id, source_table.c.title)
    .join(source_table, source_table.c.id == item_source_table.c.source_id)
    .where(item_source_table.c.item_id.in_(bindparam("ids", expanding=True)))
    .order_by(item_source_table.c.id)
)
_TITLES = select(source_table.c.id, source_table.c.title).where(
    source_table.c.id.in_(bindparam("ids", expanding=True))
)
#: one item with its text (:meth:`ItemQueries.get`), and whether one exists: built once
_GET = select(*_LIST_COLUMNS, item_table.c.content_html.label("content")).where(
    item_table.c.id == bindparam("item_id")
)
_EXISTS = select(item_table.c.id).where(item_table.c.id == bindparam("item_id"))
_FTS = table("item_fts", column("rowid"))
#: SQLite, no filters: the page's matches ranked and cut in the search table's own query, then
#: joined to their item rows (see :meth:`ItemQueries._search`); built once, not per search
_FTS_PAGE = (
    select(_FTS.c.rowid, literal_column("rank").label("relevance"))
    .where(text("item_fts MATCH :fts_match"))
    .order_by(literal_column("rank"), _FTS.c.rowid.desc())
    .limit(bindparam("page_limit"))
    .offset(bindparam("page_offset"))
    .subquery()
)
_FTS_SEARCH = (
    select(*_LIST_COLUMNS)
    .join(_FTS_PAGE, _FTS_PAGE.c.rowid == item_table.c.id)
    .order_by(_FTS_PAGE.c.relevance, item_table.c.id.desc())
)  # FTS5's rank is BM25 negated: lower is better
#: :data:`_FTS_SEARCH` with each origin source's id and title joined (a list without
#: ``with_sources`` reads them in the same statement, not in a second one: :meth:`_origins`)
_FTS_SEARCH_ORIGINS = _FTS_SEARCH.add_columns(source_table.c.id, source_table.c.title).outerjoin(
    source_table, source_table.c.id == item_table.c.origin_source_id
)
_WORD = re.compile(r"\w")
_WORDS = re.compile(r"\w+")

# ---- search ------------------------------------------------------------------------------


def search_terms(q: str) -> list[str]:
    """The words of a query: whitespace-separated, NULs dropped, at most MAX_QUERY_TERMS."""
    words = q.replace("\x00", " ")[:MAX_QUERY_CHARS].split()
    return [w for w in words if _WORD.search(w)][:MAX_QUERY_TERMS]


def _prefix(term: str) -> tuple[str, bool]:
    """``broad*`` → (``broad``, True): a trailing ``*`` asks for words that start so."""
    stem = term.rstrip("*")
    return (stem, True) if stem != term and _WORD.search(stem) else (term, False)


def fts5_match(terms: Sequence[str]) -> str:
    """An FTS5 query in which every term must appear, each a quoted string (``"`` doubled),
    so that operators, column filters and stray quotes in user input stay plain text; a term
    ending in ``*`` matches as a prefix (``"broad"*``)."""
    parts = []
    for term in terms:
        word, prefix = _prefix(term)
        parts.append('"' + word.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(parts)


def pg_tsquery(terms: Sequence[str]) -> str:
    """A PostgreSQL ``to_tsquery`` text in which every word must appear: only word characters
    reach it (nothing a user types can change its syntax); ``broad*`` becomes ``broad:*``."""
    parts = []
    for term in terms:
        word, prefix = _prefix(term)
        words = _WORDS.findall(word)
        if words and prefix:
            words[-1] += ":*"
        parts.extend(words)
    return " & ".join(parts)


def _in_category(category: str):  # noqa: ANN202 - a SQL expression
    """The item was carried by a source in ``category`` or in one below it (``A`` holds
    ``A/B``): categories are paths, as OPML nesting makes them."""
    category = category.strip().strip("/")
    pattern = category.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
    return (
        (item_source_table.c.item_id == item_table.c.id)
        & (source_table.c.id == item_source_table.c.source_id)
        & (
            (source_table.c.category == category)
            | source_table.c.category.like(pattern, escape="\\")
        )
    )


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
        category: str | None = None,
        with_sources: bool = True,
    ) -> Page[ItemRecord]:
        """A page of items, newest first, or best match first with ``q``. Without
        ``with_sources`` each record's ``sources`` is left empty (not read: a list that shows
        only the origin source saves a query); its ``source`` is read all the same."""
        check_limit(limit)
        searching = q is not None and bool(q.strip())
        filtered = source_id is not None or since is not None or bool(category)
        if searching and not filtered and self.dialect == "sqlite":
            # the search's own statement, built once (:meth:`_search`): no list query to build
            terms = search_terms(q or "")
            if not terms:
                return Page([], None)
            return self._search(None, terms, limit, cursor, with_sources=with_sources)
        before = None if searching else decode_cursor(cursor)
        query = select(*_LIST_COLUMNS).order_by(item_table.c.id.desc()).limit(limit + 1)
        if before is not None:
            query = query.where(item_table.c.id < before)
        if since is not None:
            query = query.where(item_table.c.first_seen_at >= since)
        if source_id is not None:
            self._check_source(source_id)
            carried = (item_source_table.c.item_id == item_table.c.id) & (
                item_source_table.c.source_id == source_id
            )
            query = query.where(exists().where(carried))
        if category:
            query = query.where(exists().where(_in_category(category)))
        if q is not None and q.strip():
            terms = search_terms(q)
            if not terms:
                return Page([], None)
            return self._search(
                query, terms, limit, cursor, filtered=filtered, with_sources=with_sources
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            records = self._records(conn, rows, with_sources)
        return page_of(records, limit)

    def _search(
        self,
        query,  # noqa: ANN001 - the list's select with its filters (None: SQLite, no filters)
        terms: list[str],
        limit: int,
        cursor: str | None,
        *,
        filtered: bool = False,
        with_sources: bool = True,
    ) -> Page[ItemRecord]:
        """Matches of every term, best first (BM25 on SQLite, ``ts_rank`` on PostgreSQL), then
        newest; paged by offset, since relevance is not a stored key.

        SQLite without filters ranks in the search table's own query and keeps only the page
        there (``ORDER BY rank … LIMIT``): the join then reads the page's item rows, not one
        per match (a common word matches tens of thousands). With filters, which need the item
        and source rows, every match is joined and ranked."""
        offset = decode_offset(cursor)
        values: dict[str, object] = {}
        if self.dialect == "sqlite" and not filtered:
            values = {
                "fts_match": fts5_match(terms),
                "page_limit": limit + 1,
                "page_offset": offset,
            }
            if not with_sources:
                with self.engine.connect() as conn:
                    records = self._origins(conn.execute(_FTS_SEARCH_ORIGINS, values).all())
                more = len(records) > limit
                return Page(records[:limit], encode_offset(offset + limit) if more else None)
            query = _FTS_SEARCH
        elif self.dialect == "sqlite":
            query = query.order_by(None).limit(limit + 1).offset(offset)
            match = bindparam("fts_match", fts5_match(terms))
            hits = select(_FTS.c.rowid, literal_column("rank").label("relevance")).where(
                text("item_fts MATCH :fts_match").bindparams(match)
            )
            hits = hits.subquery()
            query = query.join(hits, hits.c.rowid == item_table.c.id).order_by(
                hits.c.relevance, item_table.c.id.desc()
            )  # FTS5's rank is BM25 negated: lower is better
        else:
            query = query.order_by(None).limit(limit + 1).offset(offset)
            document = literal_column(PG_DOCUMENT)
            tsquery = self._tsquery(terms)
            query = query.where(self._matches(terms)).order_by(
                func.ts_rank(document, tsquery, 1).desc(), item_table.c.id.desc()
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query, values).all()
            records = self._records(conn, rows, with_sources)
        more = len(records) > limit
        return Page(records[:limit], encode_offset(offset + limit) if more else None)

    def get(self, item_id: int) -> ItemRecord:
        with self.engine.connect() as conn:
            rows = conn.execute(_GET, {"item_id": item_id}).all()
            if not rows:
                raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
            return self._records(conn, rows)[0]

    def records(self, item_ids: Sequence[int], *, with_text: bool = False) -> dict[int, ItemRecord]:
        """The items with these ids (missing ones absent), with their sources; ``with_text``
        adds the plain text (for excerpts)."""
        if not item_ids:
            return {}
        ids = list(dict.fromkeys(item_ids))
        columns = (*_LIST_COLUMNS, item_table.c.text) if with_text else _LIST_COLUMNS
        out: dict[int, ItemRecord] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                query = select(*columns).where(item_table.c.id.in_(ids[start : start + 500]))
                rows = conn.execute(query).all()
                for record in self._records(conn, rows):
                    out[record.id] = record
        return out

    def exists(self, item_id: int) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(_EXISTS, {"item_id": item_id}).first() is not None

    # ---- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _tsquery(terms: list[str]):  # noqa: ANN205 - a SQL expression
        return func.to_tsquery(literal_column("'english'::regconfig"), pg_tsquery(terms))

    def _matches(self, terms: list[str]):  # noqa: ANN202 - a SQL expression
        """PostgreSQL: the filter the search uses (on the GIN-indexed document)."""
        return literal_column(PG_DOCUMENT).op("@@")(self._tsquery(terms))

    def _check_source(self, source_id: int) -> None:
        with self.engine.connect() as conn:
            if (
                conn.execute(
                    select(source_table.c.id).where(source_table.c.id == source_id)
                ).first()
                is None
            ):
                raise NotFound(f"source {source_id} does not exist", resource_id=source_id)

    @staticmethod
    def _origins(rows: Sequence) -> list[ItemRecord]:
        """Rows of :data:`_LIST_COLUMNS` followed by the origin source's id and title (None
        when it was deleted) as records without ``sources``: what :meth:`_records` makes of
        them without ``with_sources``, with no query of its own."""
        return [
            ItemRecord(
                *r[:_ORIGIN],
                source=SourceRef(r[_ORIGIN + 1], r[_ORIGIN + 2])
                if r[_ORIGIN + 1] is not None
                else None,
                sources=(),
            )
            for r in rows
        ]

    def _records(
        self,
        conn,  # noqa: ANN001
        rows: Sequence,
        with_sources: bool = True,
    ) -> list[ItemRecord]:
        """Rows of :data:`_LIST_COLUMNS` (plus ``content`` or ``text`` where selected) as
        records, with their sources (``sources`` left empty without ``with_sources``). Rows are
        read by position and the sources' query is built once (a page of 30 results: 0.17 ms
        here instead of 0.41 ms, measured)."""
        carried: dict[int, list[SourceRef]] = {}
        titles: dict[int, str | None] = {}
        if not rows:
            return []
        if with_sources:
            ids = [r[0] for r in rows]
            for item_id, sid, title in conn.execute(_SOURCES_OF, {"ids": ids}):
                carried.setdefault(item_id, []).append(SourceRef(sid, title))
                titles[sid] = title
        origins = {r[_ORIGIN] for r in rows if r[_ORIGIN]} - set(titles)
        if origins:
            titles.update((sid, title) for sid, title in conn.execute(_TITLES, {"ids": [*origins]}))
        extra = rows[0]._fields[_ORIGIN + 1 :]  # ``content`` or ``text``, when selected
        records = []
        for r in rows:
            origin = r[_ORIGIN]
            records.append(
                ItemRecord(
                    *r[:_ORIGIN],
                    source=SourceRef(origin, titles[origin]) if origin in titles else None,
                    sources=tuple(carried.get(r[0], ())),
                    **dict(zip(extra, r[_ORIGIN + 1 :], strict=True)),
                )
            )
        return records
