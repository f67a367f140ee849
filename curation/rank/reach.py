"""Which interest phrases items match: the ranking core seen from the items' side. Pure.

A phrase matches an item when the item's *calibrated relevance* for the phrase alone (the same
phrase vectors digests are built from: matched, expanded and calibrated in
:mod:`curation.rank.profile`) is at least ``config.min_relevance``, the floor under which no
digest shows an item. Recency decay, mutes, feedback and diversity are left out: this answers
"could this reach people who declared it", not "is it in today's digest".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from curation.rank.model import CorpusModel
from curation.rank.profile import PhraseCache, calibrated_phrases, normalise_phrase
from curation.rank.types import RankConfig


def _relevance(
    model: CorpusModel,
    phrases: Sequence[str],
    config: RankConfig,
    rows: np.ndarray,
    cache: PhraseCache | None,
) -> sp.csr_matrix:
    """(phrases × rows) calibrated relevance, sparse."""
    vectors = calibrate(model, phrases, config, cache)
    return (vectors @ model.matrix[rows].T).tocsr()


def calibrate(
    model: CorpusModel, phrases: Sequence[str], config: RankConfig, cache: PhraseCache | None
) -> sp.csr_matrix:
    """(phrases × terms) calibrated vectors of ``phrases`` as matching sees them, each kept in
    ``cache`` (on 5,000 declared phrases the first computation takes about a second: see
    :meth:`curation.curate.insight_service.InsightService.warm`)."""
    return calibrated_phrases(model, [normalise_phrase(p) for p in phrases], config, cache)


def coverage(
    model: CorpusModel,
    phrases: Sequence[str],
    config: RankConfig,
    windows: Sequence[Sequence[str]],
    *,
    cache: PhraseCache | None = None,
) -> list[list[int]]:
    """For each phrase, per window (a list of item ids), how many of its items the phrase
    matches. Ids the model does not hold count as unmatched."""
    out = [[0] * len(windows) for _ in phrases]
    if not phrases or not len(model):
        return out
    for w, ids in enumerate(windows):
        rows = model.rows(ids)
        if not rows.size:
            continue
        hits = _relevance(model, phrases, config, rows, cache) >= config.min_relevance
        counts = np.asarray(hits.sum(axis=1)).ravel()
        for p, n in enumerate(counts):
            out[p][w] = int(n)
    return out


def matches(
    model: CorpusModel,
    phrases: Sequence[str],
    config: RankConfig,
    item_id: str,
    *,
    cache: PhraseCache | None = None,
) -> list[tuple[int, float]] | None:
    """``(index into phrases, relevance)`` of the phrases the item matches, best first; None
    when the model does not hold the item."""
    rows = model.rows([item_id])
    if not rows.size:
        return None
    if not phrases:
        return []
    column = _relevance(model, phrases, config, rows, cache).toarray().ravel()
    found = np.flatnonzero(column >= config.min_relevance)
    order = found[np.argsort(-column[found], kind="stable")]
    return [(int(i), float(column[i])) for i in order]
