"""Storage of sources and items. The only module that runs SQL for ingestion.

Rows never leave this module: callers get :class:`SourceRecord` and plain counts.
Writes for one feed happen in one transaction: items, their source links and the feed's HTTP
validators are committed together, so a crash never saves an ETag without the items it covers.
Inserts are set-based (``INSERT … ON CONFLICT DO NOTHING``, executed for many rows at once) so that
concurrent ingest runs cannot insert an item twice and a cold ingest stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from curation.errors import Conflict, NotFound
from curation.ingest.opml import OPMLSource
from curation.ingest.records import CleanItem
from curation.storage.engine import param_marker
from curation.storage.tables import Item, ItemSource, Source, UTCDateTime

S = Source.__table__
I = Item.__table__  # noqa: E741
L = ItemSource.__table__

_CHUNK = 500  # rows per statement: well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class SourceRecord:
    id: int
    url: str
    title: str | None
    html_url: str | None
    category: str | None
    active: bool
    status: str
    etag: str | None
    last_modified: str | None
    last_error: str | None
    error_count: int
    last_fetched_at: datetime | None
    next_attempt_at: datetime | None
    item_count: int = 0


@dataclass(frozen=True, slots=True)
class FeedWrite:
    """One fetched feed to store: its clean items and the HTTP facts that go with them."""

    source_id: int
    items: Sequence[CleanItem]
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None  # after a permanent redirect
    title: str | None = None  # the feed's own title, kept when the source has none
    html_url: str | None = None


@dataclass(frozen=True, slots=True)
class SaveResult:
    new: int  # items stored for the first time
    updated: int  # items whose content changed in place
    linked: int  # items already stored from another source, now linked to this one too


_ITEM_COLUMNS = (
    "dedupe_key",
    "origin_source_id",
    "url",
    "title",
    "summary_html",
    "content_html",
    "text",
    "author",
    "published_at",
    "updated_at",
    "first_seen_at",
    "content_hash",
)
_LINK_COLUMNS = ("source_id", "guid", "item_id", "first_seen_at")
# hot-path SQL, expanded per dialect by Store._select_in
_KNOWN_SQL = (
    "SELECT l.guid, i.id, i.content_hash, i.origin_source_id FROM item_source l "
    "JOIN item i ON i.id = l.item_id WHERE l.source_id = {m} AND l.guid IN ({in})"
)
_ITEM_IDS_SQL = "SELECT dedupe_key, id FROM item WHERE dedupe_key IN ({in})"
_HAS_ITEMS_SQL = "SELECT 1 FROM item_source WHERE source_id = {m} LIMIT 1"
# a stored feed's source row: validators saved with its items, errors cleared; the feed's own
# title and link fill the source's only where it has none
_SOURCE_OK_SQL = (
    "UPDATE source SET status = 'ok', etag = {m}, last_modified = {m}, last_error = NULL, "
    "error_count = 0, last_fetched_at = {m}, last_success_at = {m}, next_attempt_at = {m}, "
    "title = COALESCE(title, {m}), html_url = COALESCE(html_url, {m}) WHERE id = {m}"
)
# SQLite full-text search (migrations 0003 and 0005): the store indexes the items it inserts in
# the same transaction, in one statement, which costs a third of a per-row insert trigger
_INDEX_NEW_SQL = (
    "INSERT INTO item_fts(rowid, title, text) SELECT id, title, text FROM item WHERE id > ?"
)
_COUNT_NEW_SQL = "SELECT count(*) FROM item WHERE id > ?"
_REBUILD_SQL = "INSERT INTO item_fts(item_fts) VALUES ('rebuild')"


class _NewRows:
    """The item ids one transaction inserted, for the SQLite search index.

    SQLite gives each new row the largest rowid so far plus one, and from its first insert on the
    transaction holds the only write lock: right after the first batch of ``n`` new rows, whose
    last id is ``last``, every id above ``last - n`` is this transaction's. :meth:`index` checks
    that by count and falls back to rebuilding the index if it ever does not hold (rowids
    exhausted, when SQLite picks random ones).

    Invariant: a row inserted in the transaction is neither updated nor deleted before
    :meth:`index` runs, or the update/delete triggers would remove terms the index does not
    hold yet. :meth:`Store._save_items` only updates rows that were stored before it started.
    """

    __slots__ = ("floor", "inserted")

    def __init__(self) -> None:
        self.floor: int | None = None
        self.inserted = 0

    def note(self, inserted: int, last_id: int) -> None:
        if inserted and self.floor is None:
            self.floor = last_id - inserted
        self.inserted += inserted

    def index(self, conn: Connection) -> None:
        if self.floor is None:
            return
        found = conn.exec_driver_sql(_COUNT_NEW_SQL, (self.floor,)).scalar_one()
        if found == self.inserted:
            conn.exec_driver_sql(_INDEX_NEW_SQL, (self.floor,))
        else:  # pragma: no cover - only when rowids ran out and SQLite picked random ones
            conn.exec_driver_sql(_REBUILD_SQL)


def _sqlite_timestamp(value: datetime | None) -> str | None:
    """A UTC datetime in the exact text form SQLAlchemy's SQLite DATETIME stores and compares."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # what the parser gives: drop the "+00:00" instead of converting
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")  # a fifth of strftime's cost


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _record(row, item_count: int = 0) -> SourceRecord:  # noqa: ANN001
    return SourceRecord(
        id=row.id,
        url=row.url,
        title=row.title,
        html_url=row.html_url,
        category=row.category,
        active=row.active,
        status=row.status,
        etag=row.etag,
        last_modified=row.last_modified,
        last_error=row.last_error,
        error_count=row.error_count,
        last_fetched_at=UTCDateTime().process_result_value(row.last_fetched_at, None),
        next_attempt_at=UTCDateTime().process_result_value(row.next_attempt_at, None),
        item_count=item_count,
    )


def _chunks(seq: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


class Store:
    """Sources and items in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._sql_cache: dict[object, str] = {}
        self._ts = _sqlite_timestamp if engine.dialect.name == "sqlite" else _aware_utc

    # ---- sources ---------------------------------------------------------------------------

    def add_source(
        self,
        url: str,
        *,
        title: str | None = None,
        category: str | None = None,
        html_url: str | None = None,
    ) -> SourceRecord:
        with self.engine.begin() as conn:
            try:
                new_id = conn.execute(
                    S.insert()
                    .values(
                        url=url,
                        title=title,
                        category=category,
                        html_url=html_url,
                        active=True,
                        status="new",
                        error_count=0,
                        created_at=datetime.now().astimezone(),
                    )
                    .returning(S.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise Conflict(f"a source with URL {url} already exists") from exc
        return self.get_source(new_id)

    def import_sources(self, sources: Iterable[OPMLSource]) -> tuple[int, int]:
        """Add every source whose URL is not stored yet; returns (added, already present)."""
        rows = []
        seen: set[str] = set()
        for src in sources:
            if src.url in seen:
                continue
            seen.add(src.url)
            rows.append(
                {
                    "url": src.url,
                    "title": src.title,
                    "html_url": src.html_url,
                    "category": "/".join(src.category) or None,
                    "active": True,
                    "status": "new",
                    "error_count": 0,
                    "created_at": datetime.now().astimezone(),
                }
            )
        if not rows:
            return 0, 0
        with self.engine.begin() as conn:
            before = conn.execute(select(func.count()).select_from(S)).scalar_one()
            conn.execute(self._insert(S).on_conflict_do_nothing(), rows)
            after = conn.execute(select(func.count()).select_from(S)).scalar_one()
        added = after - before
        return added, len(rows) - added

    def export_sources(self) -> list[OPMLSource]:
        return [
            OPMLSource(
                url=s.url,
                title=s.title,
                category=tuple(s.category.split("/")) if s.category else (),
                html_url=s.html_url,
            )
            for s in self.list_sources()
        ]

    def get_source(self, source_id: int) -> SourceRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(S).where(S.c.id == source_id)).first()
            if row is None:
                raise NotFound(f"source {source_id} does not exist", resource_id=source_id)
            count = conn.execute(
                select(func.count()).select_from(L).where(L.c.source_id == source_id)
            ).scalar_one()
        return _record(row, count)

    def list_sources(self) -> list[SourceRecord]:
        counts = select(L.c.source_id, func.count().label("n")).group_by(L.c.source_id).subquery()
        query = (
            select(S, func.coalesce(counts.c.n, 0).label("item_count"))
            .outerjoin(counts, counts.c.source_id == S.c.id)
            .order_by(S.c.category, S.c.id)
        )
        with self.engine.connect() as conn:
            return [_record(row, row.item_count) for row in conn.execute(query)]

    def delete_source(self, source_id: int) -> None:
        with self.engine.begin() as conn:
            if conn.execute(S.delete().where(S.c.id == source_id)).rowcount == 0:
                raise NotFound(f"source {source_id} does not exist", resource_id=source_id)

    def due_sources(self, now: datetime) -> list[SourceRecord]:
        query = (
            select(S)
            .where(S.c.active.is_(True))
            .where((S.c.next_attempt_at.is_(None)) | (S.c.next_attempt_at <= now))
            .order_by(S.c.id)
        )
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    # ---- fetch outcomes --------------------------------------------------------------------

    def record_not_modified(
        self, source_ids: Sequence[int], *, now: datetime, next_attempt_at: datetime
    ) -> None:
        if not source_ids:
            return
        with self.engine.begin() as conn:
            for chunk in _chunks(list(source_ids)):
                conn.execute(
                    update(S)
                    .where(S.c.id.in_(chunk))
                    .values(
                        status="not_modified",
                        last_error=None,
                        error_count=0,
                        last_fetched_at=now,
                        last_success_at=now,
                        next_attempt_at=next_attempt_at,
                    )
                )

    def record_failure(
        self,
        source_id: int,
        *,
        status: str,
        error: str,
        now: datetime,
        next_attempt_at: datetime | None,
        retire: bool = False,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(S)
                .where(S.c.id == source_id)
                .values(
                    status=status,
                    last_error=error[:2000],
                    error_count=S.c.error_count + 1,
                    last_fetched_at=now,
                    next_attempt_at=next_attempt_at,
                    active=S.c.active & (not retire),
                )
            )

    def save_feeds(
        self, writes: Sequence[FeedWrite], *, now: datetime, next_attempt_at: datetime
    ) -> list[SaveResult | SQLAlchemyError]:
        """Store several feeds' items and validators in one transaction (one commit).

        Each feed's validators are written in the same transaction as its items. If the group
        fails, every feed is retried in a transaction of its own, so one bad feed costs only
        itself: its slot in the result holds the error instead of a :class:`SaveResult`.
        """
        if not writes:
            return []
        try:
            with self.engine.begin() as conn:
                new_rows = self._new_rows()
                done = [self._save_one(conn, w, now, next_attempt_at, new_rows) for w in writes]
                self._index(conn, new_rows)
                return done
        except SQLAlchemyError as exc:
            if len(writes) == 1:
                return [exc]
        results: list[SaveResult | SQLAlchemyError] = []
        for w in writes:
            try:
                results.append(self.save_feed(w, now=now, next_attempt_at=next_attempt_at))
            except SQLAlchemyError as exc:
                results.append(exc)
        return results

    def save_feed(
        self, write: FeedWrite, *, now: datetime, next_attempt_at: datetime
    ) -> SaveResult:
        """Store one feed's items and its validators in a single transaction."""
        with self.engine.begin() as conn:
            new_rows = self._new_rows()
            result = self._save_one(conn, write, now, next_attempt_at, new_rows)
            self._index(conn, new_rows)
            return result

    def _new_rows(self) -> _NewRows | None:
        return _NewRows() if self.engine.dialect.name == "sqlite" else None

    @staticmethod
    def _index(conn: Connection, new_rows: _NewRows | None) -> None:
        """Make this transaction's new items searchable before it commits (SQLite FTS5;
        PostgreSQL's GIN expression index maintains itself)."""
        if new_rows is not None:
            new_rows.index(conn)

    def _save_one(
        self,
        conn: Connection,
        w: FeedWrite,
        now: datetime,
        next_attempt_at: datetime,
        new_rows: _NewRows | None,
    ) -> SaveResult:
        by_guid: dict[str, CleanItem] = {}
        for item in w.items:
            by_guid.setdefault(item.guid, item)  # a feed repeating a GUID: first one wins
        result = self._save_items(conn, w.source_id, list(by_guid.values()), now, new_rows)
        ts = self._ts
        if w.new_url and not conn.execute(select(S.c.id).where(S.c.url == w.new_url)).first():
            conn.execute(update(S).where(S.c.id == w.source_id).values(url=w.new_url))
        conn.exec_driver_sql(
            self._sql(_SOURCE_OK_SQL),
            (
                w.etag,
                w.last_modified,
                ts(now),
                ts(now),
                ts(next_attempt_at),
                w.title or None,
                w.html_url or None,
                w.source_id,
            ),
        )
        return result

    def _save_items(
        self,
        conn: Connection,
        source_id: int,
        items: list[CleanItem],
        now: datetime,
        new_rows: _NewRows | None,
    ) -> SaveResult:
        """Insert new items, link them to the source, update changed ones (origin only).

        Runs on the driver's cursor with SQL built once: on a cold ingest this is the hot path,
        and SQLAlchemy's per-statement work cost more than SQLite's.
        """
        if not items:
            return SaveResult(0, 0, 0)
        known: dict[str, tuple[int, str, int | None]] = {}
        # a source with no items yet (every source on a cold start) needs no per-GUID lookups
        if conn.exec_driver_sql(self._sql(_HAS_ITEMS_SQL), (source_id,)).first() is not None:
            for chunk in _chunks([it.guid for it in items]):
                for guid, item_id, content_hash, origin in self._select_in(
                    conn, _KNOWN_SQL, chunk, source_id
                ):
                    known[guid] = (item_id, content_hash, origin)

        changed = [
            (known[it.guid][0], it)
            for it in items
            if it.guid in known
            and known[it.guid][2] == source_id
            and known[it.guid][1] != it.content_hash
        ]
        for item_id, it in changed:
            conn.execute(
                update(I)
                .where(I.c.id == item_id)
                .values(
                    url=it.url,
                    title=it.title,
                    summary_html=it.summary_html,
                    content_html=it.content_html,
                    text=it.text,
                    author=it.author,
                    published_at=it.published_at,
                    updated_at=it.updated_at,
                    content_hash=it.content_hash,
                )
            )

        fresh = [it for it in items if it.guid not in known]
        if not fresh:
            return SaveResult(0, len(changed), 0)
        ts = self._ts
        seen_at = ts(now)
        rows: dict[str, tuple] = {}
        for it in fresh:
            if it.dedupe_key not in rows:
                rows[it.dedupe_key] = (
                    it.dedupe_key,
                    source_id,
                    it.url,
                    it.title,
                    it.summary_html,
                    it.content_html,
                    it.text,
                    it.author,
                    ts(it.published_at),
                    ts(it.updated_at),
                    seen_at,
                    it.content_hash,
                )
        # rows whose dedupe key is already stored (another source's copy) are skipped here
        inserted = self._bulk_insert(conn, I, _ITEM_COLUMNS, list(rows.values()))
        ids: dict[str, int] = {}
        if new_rows is not None and inserted:  # SQLite
            last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
            new_rows.note(inserted, last)
            if inserted == len(rows):  # all new: their ids are consecutive, in insertion order
                ids = dict(zip(rows, range(last - inserted + 1, last + 1), strict=True))
        if not ids:
            for chunk in _chunks(list(rows)):
                ids.update(self._select_in(conn, _ITEM_IDS_SQL, chunk))
        links = [(source_id, it.guid, ids[it.dedupe_key], seen_at) for it in fresh]
        self._bulk_insert(conn, L, _LINK_COLUMNS, links)
        return SaveResult(new=inserted, updated=len(changed), linked=len(fresh) - inserted)

    def _marker(self) -> str:
        return param_marker(self.engine)

    def _sql(self, template: str) -> str:
        """``template`` with its ``{m}`` markers in the driver's parameter style (cached)."""
        sql = self._sql_cache.get(template)
        if sql is None:
            sql = self._sql_cache[template] = template.replace("{m}", self._marker())
        return sql

    def _select_in(
        self, conn: Connection, template: str, values: Sequence[object], *prefix: object
    ) -> list[tuple]:
        """Run ``template`` with its ``{in}`` placeholder expanded to ``len(values)`` markers."""
        key = (template, len(values))
        sql = self._sql_cache.get(key)
        if sql is None:
            m = self._marker()
            sql = template.replace("{m}", m).replace("{in}", ", ".join([m] * len(values)))
            self._sql_cache[key] = sql
        return conn.exec_driver_sql(sql, (*prefix, *values)).fetchall()

    def _bulk_insert(
        self, conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple]
    ) -> int:
        """``INSERT … ON CONFLICT DO NOTHING`` for many rows through the driver's executemany;
        returns how many rows were inserted. Values must already be in the driver's terms
        (see :meth:`_ts`)."""
        if not rows:
            return 0
        key = (table.name, len(columns))
        sql = self._sql_cache.get(key)
        if sql is None:
            # table and column names are this module's constants; every value is bound
            names, markers = ", ".join(columns), ", ".join([self._marker()] * len(columns))
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({markers}) ON CONFLICT DO NOTHING"  # noqa: S608
            self._sql_cache[key] = sql
        return max(conn.exec_driver_sql(sql, rows).rowcount, 0)
