"""Scores of given (person, item) pairs, the way :mod:`curation.rank.select` scores candidates.

For items someone else chose for a person (a teammate's share): the same calibrated relevance
times the recency factor and the gem boost, the same explanation, but no floor and no
selection — the item is shown anyway, and its score orders it among the others. A muted item
or one the person already judged has no score (the caller leaves it out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from curation.rank.explain import sentence
from curation.rank.model import CorpusModel
from curation.rank.profile import Profiles
from curation.rank.select import explain_items, prepare_items, score_block
from curation.rank.types import RankConfig


def score_pairs(
    model: CorpusModel,
    profiles: Profiles,
    pairs: Sequence[tuple[int, str]],
    now: datetime,
    config: RankConfig,
) -> list[tuple[float, str] | None]:
    """Per ``(profile row, item id)``: (score, why), ``(0.0, "")`` when the item is not in the
    model (older than its window), or None when the person muted or judged it."""
    out: list[tuple[float, str] | None] = [(0.0, "")] * len(pairs)
    known = sorted({item for _, item in pairs if item in model.index})
    if not known or not len(profiles):
        return out
    rows = model.rows(known)
    items = prepare_items(model, profiles, rows, now, config)
    # no floor: every pair keeps its score (relevance is never negative), mutes and judged -inf
    block = score_block(items, profiles, range(len(profiles)), replace(config, min_relevance=0.0))
    wanted = [(k, p, items.local[item]) for k, (p, item) in enumerate(pairs) if item in items.local]
    if not wanted:
        return out
    person_idx = np.array([p for _, p, _ in wanted], dtype=np.int64)
    item_idx = np.array([i for _, _, i in wanted], dtype=np.int64)
    named, top = explain_items(model, profiles, items, person_idx, item_idx, config)
    for n, (k, p, i) in enumerate(wanted):
        score = float(block[p, i])
        if not np.isfinite(score):
            out[k] = None
            continue
        why = sentence(profiles.interests[p], named[n], top[n])[2] if score > 0 else ""
        out[k] = (score, why)
    return out
