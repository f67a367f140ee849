"""SQL for sources (table ``source``): adding, listing, changing, deleting, each fetch's outcome.

Rows never leave this module: callers get :class:`SourceRecord` objects. A source URL may carry
credentials (``https://user:pass@host/feed``): they are stored as given, for fetching, but the
messages written here (errors, ``last_error``) mask them (:func:`mask_credentials`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from curation.errors import Conflict, NotFound
from curation.ingest.netpolicy import mask_credentials
from curation.ingest.opml import OPMLSource
from curation.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, page_of
from curation.storage.tables import Source, SourceItemCount

source_table = Source.__table__
#: each source's item count: added by the store's write path, taken away by a trigger on
#: ``item_source`` deletes (migrations 0018 and 0022)
count_table = SourceItemCount.__table__

#: the first sources by id, as a list of choices shows them (built once)
_CHOICES = (
    select(source_table.c.id, source_table.c.title, source_table.c.category)
    .order_by(source_table.c.id)
    .limit(bindparam("limit"))
)
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
    warning: str | None = None  # what the last stored fetch found odd about the feed
    item_key: str | None = None  # the key of its link-less items (see item_key_of)


class SourceChoice(NamedTuple):
    """A source as a list of choices shows it (the items page's filter, drawn with every
    search: a tuple is made from its row at a fifth of a frozen dataclass's cost)."""

    id: int
    title: str | None
    category: str | None


def item_key_of(url: str) -> str:
    """A source's key for its link-less entries, from the URL it is added with: a source
    deleted and added again under the same URL gets the same key, so its link-less entries are
    recognised as already stored (and delivered). Kept when a redirect changes the URL."""
    return "feed:" + hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:32]


#: the columns a :class:`SourceRecord` holds (all but its item count), under its field names
_COLUMNS = tuple(source_table.c[f.name] for f in fields(SourceRecord) if f.name != "item_count")


def _record(row, item_count: int = 0) -> SourceRecord:  # noqa: ANN001
    """A row of :data:`_COLUMNS` (datetimes come back in UTC through their column type)."""
    return SourceRecord(**row._mapping, item_count=item_count)


def _new_row(
    url: str, title: str | None, category: str | None, html_url: str | None
) -> dict[str, object]:
    """A source as added: active, new, due at once (no next attempt yet)."""
    return {
        "url": url,
        "title": title,
        "category": category,
        "html_url": html_url,
        "active": True,
        "status": "new",
        "error_count": 0,
        "created_at": datetime.now().astimezone(),
        "item_key": item_key_of(url),
    }


def chunks(seq: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


class SourceStore:
    """The ``source`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

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
                    source_table.insert()
                    .values(_new_row(url, title, category, html_url))
                    .returning(source_table.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise Conflict(f"a source with URL {mask_credentials(url)} already exists") from exc
        return self.get_source(new_id)

    def import_sources(self, sources: Iterable[OPMLSource]) -> tuple[int, int]:
        """Add every source whose URL is not stored yet; returns (added, already present)."""
        rows = []
        seen: set[str] = set()
        for src in sources:
            if src.url in seen:
                continue
            seen.add(src.url)
            rows.append(_new_row(src.url, src.title, "/".join(src.category) or None, src.html_url))
        if not rows:
            return 0, 0
        with self.engine.begin() as conn:
            before = conn.execute(select(func.count()).select_from(source_table)).scalar_one()
            conn.execute(self._insert(source_table).on_conflict_do_nothing(), rows)
            after = conn.execute(select(func.count()).select_from(source_table)).scalar_one()
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
            row = conn.execute(select(*_COLUMNS).where(source_table.c.id == source_id)).first()
            if row is None:
                raise NotFound(f"source {source_id} does not exist", resource_id=source_id)
            count = conn.execute(
                select(count_table.c.item_count).where(count_table.c.source_id == source_id)
            ).scalar_one_or_none()
        return _record(row, count or 0)

    def list_sources(self) -> list[SourceRecord]:
        query = (
            select(*_COLUMNS, func.coalesce(count_table.c.item_count, 0).label("item_count"))
            .outerjoin(count_table, count_table.c.source_id == source_table.c.id)
            .order_by(source_table.c.category, source_table.c.id)
        )
        with self.engine.connect() as conn:
            return [SourceRecord(**row._mapping) for row in conn.execute(query)]

    def page_sources(
        self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None, with_counts: bool = True
    ) -> Page[SourceRecord]:
        """A page of sources by id (ascending), each with its item count (one row per source
        of ``source_item_count``; 0 when not ``with_counts``: a list of choices does not need
        it); ``cursor`` is the ``next_cursor`` of the previous page."""
        check_limit(limit)
        after = decode_cursor(cursor)
        if with_counts:
            count = func.coalesce(count_table.c.item_count, 0).label("item_count")
            query = select(*_COLUMNS, count).outerjoin(
                count_table, count_table.c.source_id == source_table.c.id
            )
        else:
            query = select(*_COLUMNS)
        query = query.order_by(source_table.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(source_table.c.id > after)
        with self.engine.connect() as conn:
            result = conn.execute(query)
            names = tuple(result.keys())  # once, not a mapping per row
            records = [SourceRecord(**dict(zip(names, row, strict=True))) for row in result]
        return page_of(records, limit)

    def source_choices(self, limit: int = DEFAULT_LIMIT) -> list[SourceChoice]:
        """The first ``limit`` sources by id, with only what a list of choices shows (three
        columns a row: no record of each source's fetch state, no item count)."""
        check_limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(_CHOICES, {"limit": limit})
            return list(map(SourceChoice._make, rows))

    def find_source(self, url: str) -> SourceRecord | None:
        """The source with exactly this URL, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(source_table.c.id).where(source_table.c.url == url)).first()
        return None if row is None else self.get_source(row.id)

    def update_source(
        self,
        source_id: int,
        *,
        now: datetime,
        title: str | None = None,
        category: str | None = None,
        active: bool | None = None,
    ) -> SourceRecord:
        """Rename, recategorise, pause or resume a source; None keeps a value as it is.

        An empty ``title`` or ``category`` clears it (a source without a title takes its feed's
        at the next fetch). Pausing (``active=False``) keeps the source out of every ingest cycle;
        resuming a paused source makes it due at ``now``.
        """
        with self.engine.begin() as conn:
            was_active = conn.execute(
                select(source_table.c.active).where(source_table.c.id == source_id)
            ).scalar_one_or_none()
            if was_active is None:
                raise NotFound(f"source {source_id} does not exist", resource_id=source_id)
            values: dict[str, object] = {}
            if title is not None:
                values["title"] = title or None
            if category is not None:
                values["category"] = category or None
            if active is not None:
                values["active"] = active
                if active and not was_active:
                    values["next_attempt_at"] = now
            if values:
                conn.execute(
                    update(source_table).where(source_table.c.id == source_id).values(**values)
                )
        return self.get_source(source_id)

    def delete_source(self, source_id: int) -> None:
        with self.engine.begin() as conn:
            if (
                conn.execute(source_table.delete().where(source_table.c.id == source_id)).rowcount
                == 0
            ):
                raise NotFound(f"source {source_id} does not exist", resource_id=source_id)

    def due_sources(self, now: datetime, *, every_source: bool = False) -> list[SourceRecord]:
        """Active sources whose next attempt has come (``every_source``: all active ones)."""
        query = select(*_COLUMNS).where(source_table.c.active.is_(True))
        if not every_source:
            query = query.where(
                (source_table.c.next_attempt_at.is_(None)) | (source_table.c.next_attempt_at <= now)
            )
        query = query.order_by(source_table.c.id)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    # ---- fetch outcomes --------------------------------------------------------------------

    def record_not_modified(
        self, source_ids: Sequence[int], *, now: datetime, next_attempt_at: datetime
    ) -> None:
        if not source_ids:
            return
        with self.engine.begin() as conn:
            for chunk in chunks(list(source_ids)):
                conn.execute(
                    update(source_table)
                    .where(source_table.c.id.in_(chunk))
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
                update(source_table)
                .where(source_table.c.id == source_id)
                .values(
                    status=status,
                    last_error=mask_credentials(error)[:2000],
                    error_count=source_table.c.error_count + 1,
                    last_fetched_at=now,
                    next_attempt_at=next_attempt_at,
                    active=source_table.c.active & (not retire),
                )
            )
