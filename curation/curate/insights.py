"""The rules of the curators' insight figures, and their records. Pure: no I/O.

- **Fewer than 5** (:func:`people_figure`): any count of people under :data:`MIN_PEOPLE` is
  shown as the string :data:`FEWER_THAN_5`, never as the number, so no figure can point at one
  or two learners. This is the only copy of that rule: the API and the web pages both get the
  figures through these records.
- **Gap** (:func:`is_gap`): an interest with fewer than ``CURATION_INSIGHT_GAP_ITEMS`` items
  above the relevance floor in the last 30 days is a gap ("add sources for this").
- **Noise** (:func:`is_noise`): a source that brought at least :data:`NOISE_MIN_ITEMS` items in
  30 days of which none reached anyone's digest only adds noise.

Figures are aggregates only: counts of people or items, never who read, opened or liked what.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

MIN_PEOPLE = 5
FEWER_THAN_5 = "fewer than 5"
NOISE_MIN_ITEMS = 20
COVERAGE_DAYS = (7, 30)
TREND_DAYS = 90
MAX_INTERESTS_SHOWN = 500
DEFAULT_INTERESTS_SHOWN = 50

PeopleFigure = int | str  # a count of people, or FEWER_THAN_5


def people_figure(count: int) -> PeopleFigure:
    """``count`` people as shown to curators: the number, or "fewer than 5" under 5."""
    return count if count >= MIN_PEOPLE else FEWER_THAN_5


def is_gap(items_30d: int, gap_items: int) -> bool:
    return items_30d < gap_items


def is_noise(items_30d: int, reached: int) -> bool:
    return items_30d >= NOISE_MIN_ITEMS and reached == 0


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 3 places; None when there is no whole."""
    return round(part / whole, 3) if whole else None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    day: str  # YYYY-MM-DD (UTC)
    people: PeopleFigure


@dataclass(frozen=True, slots=True)
class InterestInsight:
    phrase: str
    people: PeopleFigure
    items_7d: int  # items first seen in the last 7 days above the relevance floor for it
    items_30d: int
    gap: bool
    trend: tuple[TrendPoint, ...] = ()  # people per day over TREND_DAYS, oldest first


@dataclass(frozen=True, slots=True)
class SourceInsight:
    source_id: int
    title: str | None
    items_30d: int  # items it brought first (its origin) in the last 30 days
    reached: int  # of those, items that reached at least one person's digest
    reached_share: float | None
    useful: PeopleFigure  # people who marked one of those items useful
    not_useful: PeopleFigure  # people who marked one of those items not for them
    noise: bool


@dataclass(frozen=True, slots=True)
class GemInsight:
    gem_id: int
    item_id: int
    item_title: str
    delivered: PeopleFigure  # people whose digest held the gem's item
    opened: PeopleFigure  # people who opened it from an e-mail (counted opens)
    useful: PeopleFigure  # people who marked it useful


@dataclass(frozen=True, slots=True)
class InterestMatch:
    phrase: str
    people: PeopleFigure
    relevance: float


@dataclass(frozen=True, slots=True)
class ItemReach:
    """Which declared interests an item matches (above the relevance floor) and how many
    people hold at least one of them. ``in_window`` is False for items the ranking model does
    not hold (older than its window): they reach nobody's digest, so nothing matches."""

    item_id: int
    in_window: bool
    interests: tuple[InterestMatch, ...]
    people: PeopleFigure


# ---- the stored figures (JSON, shared by every process) ------------------------------------


def dump_figures(values: Sequence[InterestInsight | SourceInsight | GemInsight]) -> str:
    return json.dumps([asdict(v) for v in values], ensure_ascii=False, separators=(",", ":"))


def load_interests(body: str) -> list[InterestInsight]:
    return [
        InterestInsight(**{**row, "trend": tuple(TrendPoint(**t) for t in row["trend"])})
        for row in json.loads(body)
    ]


def load_sources(body: str) -> list[SourceInsight]:
    return [SourceInsight(**row) for row in json.loads(body)]


def load_gems(body: str) -> list[GemInsight]:
    return [GemInsight(**row) for row in json.loads(body)]
