"""Why an item is in a digest, in words a person can read.

For each picked (person, item) pair the contribution of a term is ``person weight × item
weight``; the strongest ``_TERMS_PER_PAIR`` contributions say which words carried the score.
Every stored (person, term) entry knows its *owner* — the interest that put most weight on it, or
feedback — so summing contributions per owner says which interests matched. An interest is named
when it carries at least ``MIN_SHARE`` of those contributions (the strongest always is), quoted
with its own strongest words:

    Matches your interest “hockey” (nhl, playoffs, goalie).
    Matches your interests “space” (nasa, orbit) and “python testing” (pytest).
    Matches your interest “rust” (borrow checker); similar to items you marked useful (tokio).

All of the numeric work is vectorised over every pair at once; only the sentences are built in
Python.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from curation.rank.profile import FEEDBACK_OWNER
from curation.rank.sparse import csr, row_ids

MIN_SHARE = 0.2  # an interest is named when it carries at least this share of the top words
_TERMS_PER_PAIR = 8


def _sorted_by_row_then_value(matrix: sp.csr_matrix) -> np.ndarray:
    """Order of the stored entries: by row, then by value (largest first) within the row."""
    rows = row_ids(matrix)
    if not len(rows):
        return np.empty(0, dtype=np.int64)
    starts = matrix.indptr[:-1]
    nonempty = np.diff(matrix.indptr) > 0
    row_max = np.zeros(matrix.shape[0], dtype=np.float64)
    row_max[nonempty] = np.maximum.reduceat(matrix.data, starts[nonempty])
    fraction = matrix.data / np.where(row_max[rows] > 0, row_max[rows], 1.0)
    return np.argsort(rows + 0.5 * (1.0 - fraction), kind="stable")


def explain_pairs(
    people_vectors: sp.csr_matrix,
    owners: np.ndarray,
    people_keys: np.ndarray,
    vocabulary_size: int,
    item_vectors: sp.csr_matrix,
    person_idx: np.ndarray,
    n_words: int,
    readable: Callable[[int], str],
) -> tuple[list[list[tuple[int, str]]], list[list[str]]]:
    """For each pair ``(person_idx[k], item_vectors[k])``: the named owners with their words
    joined (strongest owner first), and the pair's strongest words overall."""
    n = len(person_idx)
    contrib = csr(people_vectors[person_idx].multiply(item_vectors))
    contrib.data = np.maximum(contrib.data, 0)
    contrib.eliminate_zeros()
    order = _sorted_by_row_then_value(contrib)
    rows = row_ids(contrib)[order]
    rank = np.arange(len(order)) - contrib.indptr[rows]
    keep = rank < _TERMS_PER_PAIR
    order, rows, rank = order[keep], rows[keep], rank[keep]
    cols = contrib.indices[order].astype(np.int64)
    vals = contrib.data[order].astype(np.float64)
    pos = np.searchsorted(people_keys, person_idx[rows] * vocabulary_size + cols)
    own = owners[pos].astype(np.int64)

    # contribution per (pair, owner); owners are shifted by one so feedback (-1) becomes 0
    span = int(own.max(initial=0)) + 2
    group_key = rows * span + (own + 1)
    groups, group_of = np.unique(group_key, return_inverse=True)
    group_total = np.bincount(group_of, weights=vals)
    group_pair = groups // span
    pair_total = np.bincount(rows, weights=vals, minlength=n)
    share = group_total / np.where(pair_total[group_pair] > 0, pair_total[group_pair], 1.0)
    by_strength = np.lexsort((-group_total, group_pair))
    best = np.zeros(len(groups), dtype=bool)
    first_of_pair = np.ones(len(by_strength), dtype=bool)
    first_of_pair[1:] = group_pair[by_strength][1:] != group_pair[by_strength][:-1]
    best[by_strength[first_of_pair]] = True
    named = (share >= MIN_SHARE) | best

    # each named owner's strongest words: rank within (pair, owner), value order kept
    within = np.argsort(group_of, kind="stable")
    g_sorted = group_of[within]
    g_start = np.searchsorted(g_sorted, g_sorted, side="left")
    word_rank = np.empty(len(within), dtype=np.int64)
    word_rank[within] = np.arange(len(within)) - g_start
    take = named[group_of] & (word_rank < n_words)

    unique_cols, col_of = np.unique(cols, return_inverse=True)
    words = np.array([readable(c) for c in unique_cols.tolist()], dtype=object)[col_of]

    named_groups = by_strength[named[by_strength]]
    slot: dict[int, list[str]] = {g: [] for g in named_groups.tolist()}
    for g, w in zip(group_of[take].tolist(), words[take].tolist(), strict=True):
        slot[g].append(w)
    per_pair: list[list[tuple[int, str]]] = [[] for _ in range(n)]
    for g, p, o in zip(
        named_groups.tolist(),
        group_pair[named_groups].tolist(),
        (groups[named_groups] % span - 1).tolist(),
        strict=True,
    ):
        per_pair[p].append((o, ", ".join(slot[g])))
    top_terms: list[list[str]] = [[] for _ in range(n)]
    first_words = rank < n_words
    for p, w in zip(rows[first_words].tolist(), words[first_words].tolist(), strict=True):
        top_terms[p].append(w)
    return per_pair, top_terms


def sentence(
    interests: tuple[str, ...], named: list[tuple[int, str]], top_terms: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(matched interests, top words, the sentence) for one pair."""
    if not named:
        return (), tuple(top_terms), "Related to your interests."
    if len(named) == 1 and named[0][0] != FEEDBACK_OWNER:  # the common case
        owner, words = named[0]
        return (
            (interests[owner],),
            tuple(top_terms),
            f"Matches your interest “{interests[owner]}” ({words}).",
        )
    parts, matched, liked = [], [], ""
    for owner, words in named:
        if owner == FEEDBACK_OWNER:
            liked = words
        else:
            matched.append(interests[owner])
            parts.append(f"“{interests[owner]}” ({words})")
    clauses = []
    if parts:
        if len(parts) == 1:
            clauses.append(f"Matches your interest {parts[0]}")
        else:
            clauses.append(f"Matches your interests {', '.join(parts[:-1])} and {parts[-1]}")
    if liked:
        lead = "similar" if clauses else "Similar"
        clauses.append(f"{lead} to items you marked useful ({liked})")
    return tuple(matched), tuple(top_terms), "; ".join(clauses) + "."
