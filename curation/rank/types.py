"""Records and settings for ranking: what goes in (items, people), what comes out (ranked entries).

All are frozen dataclasses with no behaviour beyond validation, so the lead can build them from
database rows and environment settings without importing any numerical code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RankConfig:
    """Every knob of the ranker, with the defaults used by the benchmarks.

    The same values are used on every collection; nothing here is tuned per corpus.
    """

    # --- vectorizer (fitted in the batch step on the recent window) ---
    window_days: int = 14  # which items the batch step fits on (the lead selects them)
    use_stemmer: bool = True
    bigrams: bool = True
    min_df: int = 2  # a term must occur in at least this many window items
    # words in more than this fraction of them are still matched (their idf is low), but stay
    # out of query expansion and of the duplicate/diversity vectors
    max_df: float = 0.5
    max_features: int | None = 1_000_000
    title_weight: float = 3.0  # a title occurrence counts as this many body occurrences
    bm25_k1: float = 1.2  # term-frequency saturation
    bm25_b: float = 0.75  # length normalisation (0 = none, 1 = full)
    refit_after_growth: float = 0.5  # suggest a refit once added items exceed this share of the fit

    # --- interest profiles: each phrase is a small query, expanded from the corpus ---
    expansion_docs: int = 30  # pseudo-relevant window items per phrase (expansion, calibration)
    expansion_terms: int = 30  # words added to each phrase (0: no expansion)
    expansion_weight: float = 0.7  # share of the profile vector given to the added words
    expansion_doc_terms: int = 0  # only each item's strongest words feed the expansion (0: all)
    # an added word must occur in pool items holding at least this share of the pool's weight
    # (one item's own words or a sub-topic's do not get in; 0: no such limit)
    expansion_min_share: float = 0.1

    # --- feedback (Rocchio) ---
    # pull towards items marked useful / push away from items marked not useful; each centroid
    # is calibrated like an interest, so 1.0 weighs as much as a top-weighted declared interest
    feedback_positive: float = 3.0
    feedback_negative: float = 2.0
    feedback_terms: int = 50  # strongest words kept from each feedback centroid
    feedback_full_after: int = 10  # feedback reaches full weight after this many signals
    # per interest: an interest whose items were marked useful u and not useful n times weighs
    # ((1 + u) / (1 + n)) ** this, relative to the person's other interests (0: off)
    feedback_interest: float = 0.5

    # --- scoring ---
    recency_half_life_hours: float = 36.0  # score halves for every this many hours of age
    min_relevance: float = 0.25  # below this (after decay and boosts) an item is left out
    gem_boost: float = 0.3  # curator gems whose audience matches get score × (1 + gem_boost)

    # --- selection: dedupe, per-source cap, diversity ---
    duplicate_similarity: float = 0.6  # cosine at or above which two items are the same story
    similarity_terms: int = 64  # strongest words per item used for duplicate/diversity cosine
    per_source_cap: int = 3  # at most this many entries from one source in a digest
    diversity_lambda: float = 0.75  # MMR: 1 = relevance only, lower = more diverse
    candidate_factor: int = 4  # MMR chooses among limit × this best-scoring items
    explain_terms: int = 3  # words quoted per matched interest
    people_chunk: int = 512  # people scored per block (bounds memory: block × items floats)
    threads: int = 0  # worker threads for the blocks (0: one per CPU)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int | float) and value < 0:
                raise ValueError(f"RankConfig.{f.name} must not be negative (got {value})")
        if not 0.0 < self.max_df <= 1.0:
            raise ValueError("RankConfig.max_df must be in (0, 1]")
        if not 0.0 <= self.expansion_weight <= 1.0:
            raise ValueError("RankConfig.expansion_weight must be in [0, 1]")
        if not 0.0 <= self.diversity_lambda <= 1.0:
            raise ValueError("RankConfig.diversity_lambda must be in [0, 1]")
        if min(self.min_df, self.candidate_factor, self.people_chunk, self.expansion_docs) < 1:
            raise ValueError(
                "RankConfig.min_df, candidate_factor, people_chunk, expansion_docs must be >= 1"
            )
        if self.recency_half_life_hours == 0:
            raise ValueError("RankConfig.recency_half_life_hours must be > 0")


@dataclass(frozen=True, slots=True)
class ItemText:
    """One item as the ranker sees it. ``text`` is plain text (already cleaned).

    ``gem_audience`` names the audiences a curator recommended the item to (empty: not a gem;
    ``"*"``: everyone).
    """

    id: str
    title: str
    text: str
    source_id: str
    published_at: datetime | None = None
    gem_audience: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PersonQuery:
    """A reader: declared interests (phrase, weight > 0), mutes, and feedback on items.

    ``feedback`` holds ``(item_id, +1)`` for "useful" and ``(item_id, -1)`` for "not useful".
    ``audiences`` are the groups the person belongs to, for curator gems.
    """

    id: str
    interests: tuple[tuple[str, float], ...]
    mutes: tuple[str, ...] = ()
    feedback: tuple[tuple[str, int], ...] = ()
    audiences: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for phrase, weight in self.interests:
            if not phrase.strip():
                raise ValueError(f"person {self.id!r}: empty interest phrase")
            if not weight > 0:
                raise ValueError(f"person {self.id!r}: interest {phrase!r} needs a weight > 0")
        for item_id, signal in self.feedback:
            if signal not in (1, -1):
                raise ValueError(f"person {self.id!r}: feedback on {item_id!r} must be +1 or -1")


@dataclass(frozen=True, slots=True)
class Ranked:
    """One digest entry: the item, its final score, and why it is there.

    ``matched_interests`` are the person's phrases that carried the score (strongest first);
    ``top_terms`` the words that contributed most; ``also_from`` the ids of near-duplicate items
    (the same story from other sources) collapsed into this entry.
    """

    item_id: str
    score: float
    why: str
    matched_interests: tuple[str, ...] = ()
    top_terms: tuple[str, ...] = ()
    also_from: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked item for one person with a stored item id (what the recommender returns)."""

    item_id: int
    score: float
    why: str
