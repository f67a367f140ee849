"""Personal ranking: declared interests → a short, explained digest per person.

The pure core over sparse matrices; no database or web code. The batch step fits a
:class:`CorpusModel` on the recent window and keeps adding new items to it; profiles are built
once per model (and again for people whose interests or feedback changed); :func:`rank_all`
turns model + profiles into everyone's digest in one pass.

    model = CorpusModel.fit(window_items, config)          # ingest/batch step
    model = model.add_items(new_items)                      # no refit
    profiles = build_profiles(model, people, config)        # cache per model
    digests = rank_all(model, people, now, config, limit=10, profiles=profiles)

Modules: :mod:`curation.rank.types` (records, settings), :mod:`curation.rank.text` (tokens,
stems), :mod:`curation.rank.model` (vectorizer and item matrix), :mod:`curation.rank.profile`
(interests, expansion, feedback, mutes), :mod:`curation.rank.select` (scoring, dedupe,
diversity, explanation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from curation.rank.model import CorpusModel
from curation.rank.profile import PhraseVectors, Profiles, build_profiles, phrase_vectors
from curation.rank.select import select_digests
from curation.rank.types import ItemText, PersonQuery, RankConfig, Ranked

__all__ = [
    "CorpusModel",
    "ItemText",
    "PersonQuery",
    "PhraseVectors",
    "Profiles",
    "RankConfig",
    "Ranked",
    "build_profiles",
    "phrase_vectors",
    "rank_all",
    "relevance",
]


def rank_all(
    model: CorpusModel,
    people: Sequence[PersonQuery],
    now: datetime,
    config: RankConfig,
    limit: int = 10,
    *,
    profiles: Profiles | None = None,
    item_ids: Iterable[str] | None = None,
) -> dict[str, list[Ranked]]:
    """Everyone's digest: up to ``limit`` entries per person id, best first.

    ``item_ids`` restricts the candidates (e.g. to items new since the last digest; default:
    every item in the model). ``profiles`` may be passed when already built for these people and
    this model (they are built here otherwise). Items a person gave feedback on, muted items and
    items below ``config.min_relevance`` are never included, so a digest may be short or empty.
    """
    if profiles is None:
        profiles = build_profiles(model, people, config)
    elif profiles.person_ids != tuple(p.id for p in people):
        raise ValueError("profiles were built for other people (or another order)")
    if profiles.vocabulary_size != len(model.terms):
        raise ValueError("profiles were built for another corpus model; rebuild them")
    rows = np.arange(len(model)) if item_ids is None else model.rows(item_ids)
    return select_digests(model, profiles, rows, now, config, limit)


def relevance(
    model: CorpusModel, profiles: Profiles, item_ids: Iterable[str] | None = None
) -> np.ndarray:
    """Raw calibrated relevance (people × items), before decay, mutes and selection.

    Columns follow ``item_ids`` (unknown ids dropped) or the model's order. For evaluation and
    tuning; digests use :func:`rank_all`."""
    rows = np.arange(len(model)) if item_ids is None else model.rows(item_ids)
    return (profiles.vectors @ model.matrix[rows].T).toarray()
