"""SQL for the curators' insight figures, and for recording opens (table ``item_open``).

Every query is set-based (one grouped query per figure, never one per row) and answers counts
only, never who did what. They lean on these indexes: ``item.first_seen_at`` (30-day windows),
``item.origin_source_id``, ``ix_digest_item_item_id``, ``ix_item_open_item_id`` and
``ix_feedback_item_signal`` (per-item counts across everyone; migration 0011).

Interest phrases are grouped by ``lower(phrase)`` as the database computes it (the key is
passed back as it came, so no Python/SQL case-folding mismatch can split a group).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from curation.storage.tables import (
    Digest,
    DigestItem,
    Feedback,
    Gem,
    InsightFigures,
    Interest,
    InterestSnapshot,
    Item,
    ItemOpen,
    Source,
)

D = Digest.__table__
DI = DigestItem.__table__
F = Feedback.__table__
G = Gem.__table__
IN = Interest.__table__
I = Item.__table__  # noqa: E741
O = ItemOpen.__table__  # noqa: E741
SN = InterestSnapshot.__table__
FIG = InsightFigures.__table__
S = Source.__table__
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class PhraseCount:
    key: str  # lower(phrase), the group
    phrase: str  # one spelling people used (the first in sort order)
    people: int


@dataclass(frozen=True, slots=True)
class SourceCounts:
    source_id: int
    title: str | None
    items: int
    reached: int
    useful_people: int
    not_useful_people: int


@dataclass(frozen=True, slots=True)
class GemCounts:
    gem_id: int
    item_id: int
    item_title: str
    delivered: int
    opened: int
    useful: int


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class InsightQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- interests -----------------------------------------------------------------------

    def interest_phrases(self, limit: int | None = None) -> list[PhraseCount]:
        """Declared interests grouped ignoring case, most people first (then by phrase)."""
        key = func.lower(IN.c.phrase)
        people = func.count(IN.c.person_id.distinct())
        query = (
            select(key.label("key"), func.min(IN.c.phrase), people)
            .group_by(key)
            .order_by(people.desc(), key)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [PhraseCount(k, p, n) for k, p, n in conn.execute(query)]

    def people_with_any(self, keys: Sequence[str]) -> int:
        """How many people declared at least one of the phrases ``keys`` (lower-cased)."""
        if not keys:
            return 0
        query = select(func.count(IN.c.person_id.distinct())).where(
            func.lower(IN.c.phrase).in_(list(keys))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # ---- the trend: one snapshot of everyone's interests a day ------------------------------

    def has_snapshot(self, day: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(SN.c.id).where(SN.c.day == day).limit(1)).first() is not None

    def save_snapshot(self, day: str, counts: Sequence[PhraseCount]) -> None:
        """Record ``counts`` as ``day``'s; a phrase already recorded that day is kept (two
        processes may both take the day's snapshot)."""
        rows = [{"day": day, "phrase_key": c.key, "people": c.people} for c in counts]
        if not rows:
            return
        upsert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _CHUNK):
                conn.execute(upsert(SN).on_conflict_do_nothing(), rows[start : start + _CHUNK])

    # ---- the figures as last computed, shared by every process -------------------------------

    def stored_figures(self, name: str) -> tuple[datetime, str] | None:
        """The JSON of figure ``name`` as last stored, and when it was computed."""
        with self.engine.connect() as conn:
            row = conn.execute(select(FIG.c.computed_at, FIG.c.body).where(FIG.c.name == name))
            found = row.first()
        return (found[0], found[1]) if found is not None else None

    def store_figures(self, name: str, computed_at: datetime, body: str) -> bool:
        """Keep ``body`` as figure ``name`` unless a computation at least as recent is stored
        already (two computing at once: the later one stays); True when it was kept."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                FIG.update()
                .where(FIG.c.name == name, FIG.c.computed_at < computed_at)
                .values(computed_at=computed_at, body=body)
            ).rowcount
            if changed:
                return True
            upsert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
            added = conn.execute(
                upsert(FIG)
                .values(name=name, computed_at=computed_at, body=body)
                .on_conflict_do_nothing()
            ).rowcount
        return bool(added)

    def trends(self, keys: Sequence[str], since_day: str) -> dict[str, list[tuple[str, int]]]:
        """``(day, people)`` of each phrase key from ``since_day`` on, oldest first."""
        out: dict[str, list[tuple[str, int]]] = {k: [] for k in keys}
        if not keys:
            return out
        query = (
            select(SN.c.phrase_key, SN.c.day, SN.c.people)
            .where(SN.c.day >= since_day, SN.c.phrase_key.in_(list(keys)))
            .order_by(SN.c.day)
        )
        with self.engine.connect() as conn:
            for key, day, people in conn.execute(query):
                out[key].append((day, people))
        return out

    # ---- sources -------------------------------------------------------------------------

    def source_counts(self, since: datetime) -> list[SourceCounts]:
        """Per source, of the items it brought first since ``since``: how many, how many
        reached anyone's digest, and how many people marked any useful / not useful."""
        recent = I.c.first_seen_at > since
        items_q = (
            select(I.c.origin_source_id, func.count())
            .where(recent, I.c.origin_source_id.is_not(None))
            .group_by(I.c.origin_source_id)
        )
        reached_q = items_q.where(exists().where(DI.c.item_id == I.c.id))
        people_q = (
            select(I.c.origin_source_id, F.c.signal, func.count(F.c.person_id.distinct()))
            .select_from(F.join(I, I.c.id == F.c.item_id))
            .where(recent, F.c.signal.in_(("useful", "not_useful")))
            .group_by(I.c.origin_source_id, F.c.signal)
        )
        with self.engine.connect() as conn:
            sources = conn.execute(select(S.c.id, S.c.title).order_by(S.c.id)).all()
            items = dict(conn.execute(items_q).all())
            reached = dict(conn.execute(reached_q).all())
            people = {(s, sig): n for s, sig, n in conn.execute(people_q)}
        return [
            SourceCounts(
                source_id=sid,
                title=title,
                items=items.get(sid, 0),
                reached=reached.get(sid, 0),
                useful_people=people.get((sid, "useful"), 0),
                not_useful_people=people.get((sid, "not_useful"), 0),
            )
            for sid, title in sources
        ]

    # ---- gems ----------------------------------------------------------------------------

    def gem_counts(self, limit: int) -> list[GemCounts]:
        """The newest ``limit`` gems: people who got each in a digest, opened it, found it
        useful (each table holds one row per person and item, so rows are people)."""
        gems_q = (
            select(G.c.id, G.c.item_id, I.c.title)
            .join(I, I.c.id == G.c.item_id)
            .order_by(G.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            gems = conn.execute(gems_q).all()
            item_ids = sorted({g.item_id for g in gems})
            delivered: dict[int, int] = {}
            opened: dict[int, int] = {}
            useful: dict[int, int] = {}
            for ids in _chunks(item_ids):
                delivered.update(self._per_item(conn, DI, DI.c.item_id.in_(ids)))
                opened.update(self._per_item(conn, O, O.c.item_id.in_(ids)))
                useful.update(
                    self._per_item(conn, F, and_(F.c.item_id.in_(ids), F.c.signal == "useful"))
                )
        return [
            GemCounts(
                gem_id=g.id,
                item_id=g.item_id,
                item_title=g.title,
                delivered=delivered.get(g.item_id, 0),
                opened=opened.get(g.item_id, 0),
                useful=useful.get(g.item_id, 0),
            )
            for g in gems
        ]

    @staticmethod
    def _per_item(conn, table, where) -> dict[int, int]:  # noqa: ANN001
        query = (
            select(table.c.item_id, func.count(table.c.person_id.distinct()))
            .where(where)
            .group_by(table.c.item_id)
        )
        return dict(conn.execute(query).all())


class OpenStore:
    """Counted opens of items from digest e-mails: at most one per (person, item)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def delivery(self, person_id: int, item_id: int) -> tuple[bool, datetime | None]:
        """Whether the item was in one of the person's digests, and when that e-mail was
        marked sent (None: not sent, or not yet marked)."""
        query = (
            select(D.c.email_sent_at)
            .select_from(DI.join(D, D.c.id == DI.c.digest_id))
            .where(DI.c.person_id == person_id, DI.c.item_id == item_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row is not None, row.email_sent_at if row is not None else None)

    def record(self, person_id: int, item_id: int, *, now: datetime) -> bool:
        """Record an open; False when this person's open of this item was already counted."""
        try:
            with self.engine.begin() as conn:
                conn.execute(O.insert().values(person_id=person_id, item_id=item_id, opened_at=now))
        except IntegrityError:
            return False
        return True

    def item_url(self, item_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(I.c.url).where(I.c.id == item_id)).scalar_one_or_none()
