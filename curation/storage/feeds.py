"""SQL for a fetched feed's write path: its items (tables ``item``, ``item_source``, and on
SQLite the search index ``item_fts``) and its source row's validators.

Writes for one feed happen in one transaction: items, their source links and the feed's HTTP
validators are committed together, so a crash never saves an ETag without the items it covers.
Inserts are set-based (``INSERT … ON CONFLICT DO NOTHING``, executed for many rows at once) so that
concurrent ingest runs cannot insert an item twice and a cold ingest stays fast.

Identity of a stored item (:mod:`curation.storage.identity`): across feeds an article is its
canonical URL, and which feed's version is shown (the *owner*, ``origin_source_id``) follows
:mod:`curation.ingest.ownership`: the first feed to store it, displaced at once by a feed served
from the article's own site, so a feed on another site can carry an article but never rewrite
what its site published. An entry without a link is keyed by its source's ``item_key`` and GUID,
so it survives the source being deleted and added again; an entry back under a new GUID is
recognised by its link (or title and date) and the feed flagged when it does that to half of
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, Table, select, update
from sqlalchemy.exc import SQLAlchemyError

from curation.ingest.ownership import may_take_over
from curation.ingest.records import CleanItem
from curation.storage.engine import param_marker
from curation.storage.identity import FeedContext, Stored, renamed
from curation.storage.sources import SourceStore, chunks
from curation.storage.tables import Item, ItemSource, Source

source_table = Source.__table__
item_table = Item.__table__
item_source_table = ItemSource.__table__


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
    # the URL the feed was served from (after redirects), for ownership; None: the source's URL
    site_url: str | None = None
    # the source's key for its link-less entries; None: read from the source row
    item_key: str | None = None
    warnings: tuple[str, ...] = ()  # what reading the document found odd, kept on the source


@dataclass(frozen=True, slots=True)
class SaveResult:
    new: int  # items stored for the first time
    updated: int  # items whose content changed in place (an owner's update or a takeover)
    linked: int  # items already stored from another source, now linked to this one too
    rekeyed: int = 0  # entries this feed already carried, back under a new GUID
    warning: str | None = None  # what the source row now says is odd about the feed


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
    "published_raw",
    "updated_raw",
)
_LINK_COLUMNS = ("source_id", "guid", "item_id", "first_seen_at")
#: what a changed item's update rewrites: every field of a CleanItem but its keys
_CONTENT_FIELDS = tuple(f for f in CleanItem._fields if f not in ("guid", "dedupe_key"))
# hot-path SQL, expanded per dialect by Store._select_in
_KNOWN_SQL = (
    "SELECT l.guid, i.id, i.content_hash, i.origin_source_id, o.url FROM item_source l "
    "JOIN item i ON i.id = l.item_id LEFT JOIN source o ON o.id = i.origin_source_id "
    "WHERE l.source_id = {m} AND l.guid IN ({in})"
)
_ITEM_IDS_SQL = (
    "SELECT i.dedupe_key, i.id, i.content_hash, i.origin_source_id, o.url FROM item i "
    "LEFT JOIN source o ON o.id = i.origin_source_id WHERE i.dedupe_key IN ({in})"
)
_HAS_ITEMS_SQL = "SELECT 1 FROM item_source WHERE source_id = {m} LIMIT 1"
_SOURCE_KEYS_SQL = "SELECT url, item_key FROM source WHERE id = {m}"
_REKEY_SQL = "UPDATE item_source SET guid = {m} WHERE id = {m}"
# a feed's new links added to its source's item count, in the transaction that inserts them:
# this write path is the only code that inserts links (a trigger takes deleted ones away;
# migrations 0018 and 0022)
_COUNT_LINKS_SQL = (
    "INSERT INTO source_item_count (source_id, item_count) VALUES ({m}, {m}) "
    "ON CONFLICT (source_id) "
    "DO UPDATE SET item_count = source_item_count.item_count + EXCLUDED.item_count"
)
# a stored feed's source row: validators saved with its items, errors cleared; the feed's own
# title and link fill the source's only where it has none
_SOURCE_OK_SQL = (
    "UPDATE source SET status = 'ok', etag = {m}, last_modified = {m}, last_error = NULL, "
    "error_count = 0, last_fetched_at = {m}, last_success_at = {m}, next_attempt_at = {m}, "
    "title = COALESCE(title, {m}), html_url = COALESCE(html_url, {m}), warning = {m} "
    "WHERE id = {m}"
)
# SQLite full-text search (migrations 0003 and 0005): the store indexes the items it inserts in
# the same transaction, in one statement, which costs a third of a per-row insert trigger
_INDEX_NEW_SQL = (
    "INSERT INTO item_fts(rowid, title, text) SELECT id, title, text FROM item WHERE id > ?"
)
_COUNT_NEW_SQL = "SELECT count(*) FROM item WHERE id > ?"
_SEQUENCE_SQL = "SELECT seq FROM sqlite_sequence WHERE name = 'item'"
_HAS_SEQUENCE_SQL = "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
_REBUILD_SQL = "INSERT INTO item_fts(item_fts) VALUES ('rebuild')"


class _NewRows:
    """The item ids one transaction inserted, for the SQLite search index.

    ``item`` ids are AUTOINCREMENT (migration 0007: never reused), and from its first insert on
    the transaction holds the only write lock. Each row an ``INSERT … ON CONFLICT DO NOTHING``
    attempts takes the next id, a skipped one included, so right after the first batch of ``n``
    attempted rows the table's sequence is ``seq`` and every id above ``seq - n`` is this
    transaction's. :meth:`index` checks that by count and falls back to rebuilding the index if it
    ever does not hold.

    Invariant: a row inserted in the transaction is neither updated nor deleted before
    :meth:`index` runs, or the update/delete triggers would remove terms the index does not
    hold yet. :meth:`Store._save_items` therefore only records its updates (:class:`_Txn`), and
    they are applied after :meth:`index` (a feed may take over a row another feed of the same
    transaction inserted).
    """

    __slots__ = ("floor", "inserted")

    def __init__(self) -> None:
        self.floor: int | None = None
        self.inserted = 0

    def note(self, inserted: int, floor: int) -> None:
        if inserted and self.floor is None:
            self.floor = floor
        self.inserted += inserted

    def index(self, conn: Connection) -> None:
        if self.floor is None:
            return
        found = conn.exec_driver_sql(_COUNT_NEW_SQL, (self.floor,)).scalar_one()
        if found == self.inserted:
            conn.exec_driver_sql(_INDEX_NEW_SQL, (self.floor,))
        else:  # pragma: no cover - only if SQLite ever numbered rows otherwise
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


class _Txn:
    """What one transaction decided beyond its inserts: the item updates, applied after its new
    rows are indexed (:meth:`Store._index`), and who owns the items it took over, so that a
    later feed of the same transaction sees the new owner."""

    __slots__ = ("_owners", "_updates", "feed", "new_rows")

    def __init__(self, new_rows: _NewRows | None) -> None:
        self.new_rows = new_rows
        self.feed: FeedContext | None = None  # the feed being stored
        self._updates: dict[int, dict[str, object]] = {}
        self._owners: dict[int, tuple[int, str | None]] = {}

    def owner(self, stored: Stored) -> tuple[int | None, str | None]:
        return self._owners.get(stored.item_id, (stored.owner_id, stored.owner_url))

    def update(
        self, item_id: int, values: dict[str, object], owner: tuple[int, str | None] | None = None
    ) -> None:
        self._updates.setdefault(item_id, {}).update(values)
        if owner is not None:
            self._owners[item_id] = owner

    def apply(self, conn: Connection) -> None:
        for item_id, values in self._updates.items():
            conn.execute(update(item_table).where(item_table.c.id == item_id).values(values))
        self._updates.clear()


class Store(SourceStore):
    """Sources (:class:`SourceStore`) and the write path of a fetched feed's items."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._sql_cache: dict[object, str] = {}
        self._ts = _sqlite_timestamp if engine.dialect.name == "sqlite" else _aware_utc
        self._has_sequence: bool | None = None

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
                txn = self._new_txn()
                done = [self._save_one(conn, w, now, next_attempt_at, txn) for w in writes]
                self._index(conn, txn)
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
            txn = self._new_txn()
            result = self._save_one(conn, write, now, next_attempt_at, txn)
            self._index(conn, txn)
            return result

    def _new_txn(self) -> _Txn:
        return _Txn(_NewRows() if self.engine.dialect.name == "sqlite" else None)

    @staticmethod
    def _index(conn: Connection, txn: _Txn) -> None:
        """Make this transaction's new items searchable (SQLite FTS5; PostgreSQL's GIN
        expression index maintains itself), then apply its updates, before it commits."""
        if txn.new_rows is not None:
            txn.new_rows.index(conn)
        txn.apply(conn)

    def _save_one(
        self,
        conn: Connection,
        w: FeedWrite,
        now: datetime,
        next_attempt_at: datetime,
        txn: _Txn,
    ) -> SaveResult:
        by_guid: dict[str, CleanItem] = {}
        for item in w.items:
            by_guid.setdefault(item.guid, item)  # a feed repeating a GUID: first one wins
        txn.feed = FeedContext(
            w.source_id,
            site_url=w.site_url,
            item_key=w.item_key,
            warnings=w.warnings,
            read_source=lambda: self._source_keys(conn, w.source_id),
        )
        result = self._save_items(conn, w.source_id, list(by_guid.values()), now, txn)
        ts = self._ts
        if (
            w.new_url
            and not conn.execute(
                select(source_table.c.id).where(source_table.c.url == w.new_url)
            ).first()
        ):
            conn.execute(
                update(source_table).where(source_table.c.id == w.source_id).values(url=w.new_url)
            )
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
                result.warning,
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
        txn: _Txn,
    ) -> SaveResult:
        """Insert new items, link them to the source, update the ones it owns or takes over
        (``txn.feed`` is the feed being stored).

        Runs on the driver's cursor with SQL built once: on a cold ingest this is the hot path,
        and SQLAlchemy's per-statement work cost more than SQLite's.
        """
        feed = txn.feed
        assert feed is not None and feed.source_id == source_id
        if not items:
            return SaveResult(0, 0, 0, warning=feed.warning(0, 0))
        items = feed.stable_keys(items)
        known: dict[str, Stored] = {}
        rekeyed = 0
        # a source with no items yet (every source on a cold start) needs no per-GUID lookups
        if conn.exec_driver_sql(self._sql(_HAS_ITEMS_SQL), (source_id,)).first() is not None:
            for chunk in chunks([it.guid for it in items]):
                for guid, *stored in self._select_in(conn, _KNOWN_SQL, chunk, source_id):
                    known[guid] = Stored(*stored)
            again = renamed(conn, self._select_in, source_id, items, known)
            for link_id, it, stored in again:
                conn.exec_driver_sql(self._sql(_REKEY_SQL), (it.guid, link_id))
                known[it.guid] = stored
            rekeyed = len(again)

        updated = 0
        for it in items:
            stored = known.get(it.guid)
            if stored is not None and self._claim(txn, feed, stored, it):
                updated += 1

        fresh = [it for it in items if it.guid not in known]
        warning = feed.warning(rekeyed, len(items))
        if not fresh:
            return SaveResult(0, updated, 0, rekeyed, warning)
        ts = self._ts
        seen_at = ts(now)
        rows: dict[str, tuple] = {}
        firsts: dict[str, CleanItem] = {}
        for it in fresh:
            if it.dedupe_key not in rows:
                firsts[it.dedupe_key] = it
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
                    it.published_raw,
                    it.updated_raw,
                )
        # rows whose dedupe key is already stored (another source's copy) are skipped here
        inserted = self._bulk_insert(conn, item_table, _ITEM_COLUMNS, list(rows.values()))
        ids: dict[str, int] = {}
        new_rows = txn.new_rows
        if new_rows is not None and inserted:  # SQLite
            last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
            if new_rows.floor is None:
                seq = self._sequence(conn)
                # AUTOINCREMENT: every attempted row took an id; else the ids are consecutive
                new_rows.note(inserted, seq - len(rows) if seq is not None else last - inserted)
            else:
                new_rows.note(inserted, new_rows.floor)
            if inserted == len(rows):  # all new: their ids are consecutive, in insertion order
                ids = dict(zip(rows, range(last - inserted + 1, last + 1), strict=True))
        if not ids:
            for chunk in chunks(list(rows)):
                for key, *stored in self._select_in(conn, _ITEM_IDS_SQL, chunk):
                    found = Stored(*stored)
                    ids[key] = found.item_id
                    # another source's copy: this feed may own it by the rules of ownership
                    if found.owner_id != source_id and self._claim(txn, feed, found, firsts[key]):
                        updated += 1
        links = [(source_id, it.guid, ids[it.dedupe_key], seen_at) for it in fresh]
        if linked := self._bulk_insert(conn, item_source_table, _LINK_COLUMNS, links):
            conn.exec_driver_sql(self._sql(_COUNT_LINKS_SQL), (source_id, linked))
        return SaveResult(inserted, updated, len(fresh) - inserted, rekeyed, warning)

    @staticmethod
    def _claim(txn: _Txn, feed: FeedContext, stored: Stored, it: CleanItem) -> bool:
        """Update a stored item with this feed's version when the feed owns it and it changed,
        or when the feed takes it over (:mod:`curation.ingest.ownership`); True if so."""
        owner_id, owner_url = txn.owner(stored)
        if owner_id == feed.source_id:
            if stored.content_hash == it.content_hash:
                return False
            txn.update(stored.item_id, {name: getattr(it, name) for name in _CONTENT_FIELDS})
            return True
        if not may_take_over(
            claimant_url=feed.site_url(),
            owner_id=owner_id,
            owner_url=owner_url,
            article_url=it.url,
        ):
            return False
        values = {name: getattr(it, name) for name in _CONTENT_FIELDS}
        values["origin_source_id"] = feed.source_id
        txn.update(stored.item_id, values, owner=(feed.source_id, feed.site_url()))
        return True

    def _source_keys(self, conn: Connection, source_id: int) -> tuple[str, str | None]:
        """The source row's URL and item key (``("", None)`` if it is gone)."""
        row = conn.exec_driver_sql(self._sql(_SOURCE_KEYS_SQL), (source_id,)).first()
        return (row[0], row[1]) if row is not None else ("", None)

    def _sequence(self, conn: Connection) -> int | None:
        """The ``item`` table's AUTOINCREMENT sequence (None before migration 0007)."""
        if self._has_sequence is None:
            found = conn.exec_driver_sql(_HAS_SEQUENCE_SQL).first()
            self._has_sequence = found is not None
        return conn.exec_driver_sql(_SEQUENCE_SQL).scalar() if self._has_sequence else None

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
