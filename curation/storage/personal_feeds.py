"""SQL for personal digest feeds (table ``personal_feed``) and the recorded digests they carry.

One row per person holds the token of their private feed URLs. It is made on first use and
replaced on rotation, so an old URL stops working the moment a new token is written. The
digests are read from ``digest`` (read-only here), newest first, for one person only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from curation.storage.tables import Digest, PersonalFeed

feed_table = PersonalFeed.__table__
digest_table = Digest.__table__


@dataclass(frozen=True, slots=True)
class FeedDigest:
    """A recorded digest as a feed shows it: its day, when it was last filled, its payload."""

    day: str
    updated_at: datetime
    payload: str


class PersonalFeedStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def token(self, person_id: int, *, new_token: str, now: datetime) -> str:
        """The person's token; ``new_token`` becomes it when they have none yet (two racing
        first calls agree: the unique person id decides)."""
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(feed_table)
                .values(person_id=person_id, token=new_token, created_at=now)
                .on_conflict_do_nothing(index_elements=["person_id"])
            )
            return conn.execute(
                select(feed_table.c.token).where(feed_table.c.person_id == person_id)
            ).scalar_one()

    def replace(self, person_id: int, *, new_token: str, now: datetime) -> str:
        """Rotate: ``new_token`` replaces the person's token (made when there was none)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(feed_table)
                .where(feed_table.c.person_id == person_id)
                .values(token=new_token, created_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    self._insert(feed_table)
                    .values(person_id=person_id, token=new_token, created_at=now)
                    .on_conflict_do_update(
                        index_elements=["person_id"], set_={"token": new_token, "created_at": now}
                    )
                )
        return new_token

    def owner(self, token: str) -> tuple[int, datetime] | None:
        """Whose token this is, and since when (None: no such token, or rotated away)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(feed_table.c.person_id, feed_table.c.created_at).where(
                    feed_table.c.token == token
                )
            ).first()
        return (row[0], row[1]) if row else None

    def digests(self, person_id: int, *, since: datetime, limit: int) -> list[FeedDigest]:
        """The person's recorded digests with items, filled since ``since``, newest first."""
        query = (
            select(digest_table.c.day, digest_table.c.window_end, digest_table.c.payload)
            .where(
                digest_table.c.person_id == person_id,
                digest_table.c.item_count > 0,
                digest_table.c.window_end >= since,
            )
            .order_by(digest_table.c.day.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [FeedDigest(day, end, payload) for day, end, payload in conn.execute(query)]
