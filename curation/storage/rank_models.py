"""SQL for the ranker: the stored model (table ``rank_model``) and the item rows it reads.

The model is pickled by :mod:`curation.rank.recommender` into its own table and only ever read
back by this service; the newest row is the current model and older ones are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Engine, Row, delete, func, select

from curation.storage.marks import FEEDBACK, marks_table
from curation.storage.tables import Gem, Item, RankModel

item_table = Item.__table__
rank_model_table = RankModel.__table__
gem_table = Gem.__table__

#: what the ranker reads of an item
ITEM_COLUMNS = (
    item_table.c.id,
    item_table.c.title,
    item_table.c.text,
    item_table.c.origin_source_id,
    item_table.c.published_at,
    item_table.c.first_seen_at,
)


class RankStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def window(self, since: datetime, limit: int) -> Sequence[Row]:
        """The newest ``limit`` items first seen at or after ``since``, newest first."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(*ITEM_COLUMNS)
                .where(item_table.c.first_seen_at >= since)
                .order_by(item_table.c.id.desc())
                .limit(limit)
            ).all()

    def save_model(self, *, now: datetime, item_count: int, max_item_id: int, blob: bytes) -> None:
        """Store a new current model and drop the older ones."""
        with self.engine.begin() as conn:
            conn.execute(
                rank_model_table.insert().values(
                    created_at=now, item_count=item_count, max_item_id=max_item_id, blob=blob
                )
            )
            newest = conn.execute(select(func.max(rank_model_table.c.id))).scalar_one()
            conn.execute(delete(rank_model_table).where(rank_model_table.c.id < newest))

    def latest(self) -> tuple[int, int] | None:
        """The current model's id and the newest item id it was fitted on."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(rank_model_table.c.id, rank_model_table.c.max_item_id)
                .order_by(rank_model_table.c.id.desc())
                .limit(1)
            ).first()
        return (row.id, row.max_item_id) if row else None

    def state(self) -> tuple[int, int, int, int, int] | None:
        """In one query: the current model's id and the newest item id it was fitted on (as
        :meth:`latest`), the newest item id, the newest gem id (0 when none) and the
        ``feedback`` change mark (:mod:`curation.storage.marks`); None with no model."""
        newest_item = select(func.coalesce(func.max(item_table.c.id), 0)).scalar_subquery()
        newest_gem = select(func.coalesce(func.max(gem_table.c.id), 0)).scalar_subquery()
        feedback = (
            select(func.coalesce(func.max(marks_table.c.value), 0))
            .where(marks_table.c.topic == FEEDBACK)
            .scalar_subquery()
        )
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    rank_model_table.c.id,
                    rank_model_table.c.max_item_id,
                    newest_item,
                    newest_gem,
                    feedback,
                )
                .order_by(rank_model_table.c.id.desc())
                .limit(1)
            ).first()
        return (row[0], row[1], row[2], row[3], row[4]) if row else None

    def blob(self, model_id: int) -> bytes:
        with self.engine.connect() as conn:
            query = select(rank_model_table.c.blob).where(rank_model_table.c.id == model_id)
            return conn.execute(query).scalar_one()

    def gems_after(self, gem_id: int) -> list[tuple[int, int]]:
        """(gem id, item id) of gems tagged after ``gem_id``."""
        with self.engine.connect() as conn:
            query = select(gem_table.c.id, gem_table.c.item_id).where(gem_table.c.id > gem_id)
            return [(g, i) for g, i in conn.execute(query)]

    def items_after(self, item_id: int, also: Iterable[int] = ()) -> Sequence[Row]:
        """Items stored after ``item_id``, plus the items ``also`` names."""
        query = select(*ITEM_COLUMNS).where(item_table.c.id > item_id)
        extra = set(also)
        if extra:
            query = query.union(select(*ITEM_COLUMNS).where(item_table.c.id.in_(extra)))
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def first_seen_ids(self, since: datetime, until: datetime) -> list[int]:
        """Ids of the items first seen in ``(since, until]``, in id order."""
        with self.engine.connect() as conn:
            query = (
                select(item_table.c.id)
                .where(item_table.c.first_seen_at > since, item_table.c.first_seen_at <= until)
                .order_by(item_table.c.id)
            )
            return list(conn.execute(query).scalars())
