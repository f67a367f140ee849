"""From profiles to digests: score everyone at once, then pick, dedupe, diversify and explain.

Per block of ``people_chunk`` people (bounded memory, no Python loop over people in the hot path):

1. **Score**: (people × terms) @ (terms × items), one sparse product, as a dense block of
   calibrated relevance; times the recency factor ``0.5 ** (age / half_life)``; times
   ``1 + gem_boost`` where a curator gem's audience matches the person.
2. **Filter**: muted items (every word of a mute phrase present), items the person already
   judged, and anything under ``min_relevance`` drop out, so a quiet day gives a short digest.
3. **Collapse duplicates**: items whose strongest-words cosine reaches ``duplicate_similarity``
   *and* whose titles, names and numbers agree (:func:`curation.rank.text.same_story`: the same
   template about another company or price is another story) form one story (connected
   components); a person sees the story once, through its best-scoring item, and the entry
   lists the others in ``also_from`` ("also reported by N other sources").
4. **Diversify**: greedy MMR over the ``limit × candidate_factor`` best candidates —
   ``λ·relevance − (1−λ)·max similarity to what is already picked`` — with at most
   ``per_source_cap`` entries per source.
5. **Explain**: per picked item, the person-term × item-term products say which words carried the
   score; each word's owner (the interest that put most weight on it, or feedback) says which
   interests matched. The sentence quotes the interests and their words.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import ParamSpec, TypeVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from curation.rank.explain import explain_pairs, sentence
from curation.rank.model import CorpusModel
from curation.rank.profile import Profiles
from curation.rank.sparse import csr, top_k_dense
from curation.rank.text import same_story
from curation.rank.types import RankConfig, Ranked

DENSE_SIMILARITY_MAX = 8000  # above this many candidate items (or for few people), similarities
# between candidates are built per block instead of once for all items
_NEG = np.float32(-np.inf)
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, eq=False, slots=True)
class _Items:
    """The candidate items of one ranking call, prepared once for all people."""

    rows: np.ndarray  # model rows
    ids: tuple[str, ...]
    local: dict[str, int]
    items_t: sp.csr_matrix  # (terms × items)
    factor: np.ndarray  # recency factor
    source: np.ndarray  # source codes
    story: np.ndarray  # story codes
    members: dict[int, tuple[int, ...]]  # story -> its items (stories of 2+ only)
    sims: np.ndarray | None  # dense item × item cosine (float16), when small enough
    similarity: sp.csr_matrix  # rows for building similarity blocks
    gem: sp.csr_matrix  # (items × audiences) 1 where the item is a gem for the audience
    audience_index: dict[str, int]
    mute_hits: sp.csr_matrix  # (mute phrases × items) 1 where the item contains the phrase


_STRUCTURE_CACHE = 2  # candidate sets whose item structure a model keeps (most recent first)


def prepare_items(
    model: CorpusModel, profiles: Profiles, rows: np.ndarray, now: datetime, config: RankConfig
) -> _Items:
    rows = np.asarray(rows, dtype=np.int64)
    wanted = len(profiles) * config.candidate_factor * 10  # roughly how many pairs are looked up
    dense = len(rows) <= DENSE_SIMILARITY_MAX and wanted >= len(rows)
    items = _item_structure(model, rows, config, dense)
    age_hours = np.maximum(0.0, (now.timestamp() - model.published[rows]) / 3600.0)
    age_hours = np.nan_to_num(age_hours, nan=0.0)
    factor = np.power(0.5, age_hours / config.recency_half_life_hours).astype(np.float32)
    if profiles.mute_words.shape[0]:
        mute_hits = csr((model.hashed[rows] @ profiles.mute_words.T).T)
        mute_hits.data = (mute_hits.data >= 1.0 - 1e-4).astype(np.float32)
        mute_hits.eliminate_zeros()
    else:  # nobody mutes anything: skip the (items × every word) product
        mute_hits = sp.csr_matrix((0, len(rows)), dtype=np.float32)
    return replace(items, factor=factor, mute_hits=mute_hits)


def _item_structure(
    model: CorpusModel, rows: np.ndarray, config: RankConfig, dense: bool
) -> _Items:
    """What does not depend on the people or the time: kept in the model's cache for the last
    few candidate sets (live recommendations rank the same day's items request after request)."""
    key = (hash(rows.tobytes()), dense, config)
    cached: list = model.cache.setdefault("item_structure", [])
    for found_key, found in list(cached):
        if found_key == key and np.array_equal(found.rows, rows):
            return found
    items = _build_structure(model, rows, config, dense)
    cached.insert(0, (key, items))
    del cached[_STRUCTURE_CACHE:]
    return items


def _build_structure(
    model: CorpusModel, rows: np.ndarray, config: RankConfig, dense: bool
) -> _Items:
    ids = tuple(model.ids[r] for r in rows)
    _, source = np.unique(
        np.array([model.source_ids[r] for r in rows], dtype=object), return_inverse=True
    )

    similarity = model.similarity[rows]
    pairs = csr(similarity @ similarity.T)
    sims = None
    if dense:  # float16 is plenty for MMR
        sims = np.zeros((len(rows), len(rows)), dtype=np.float16)
        sims[pairs.nonzero()] = pairs.data
    linked = pairs.copy()
    linked.data = (linked.data >= config.duplicate_similarity - 1e-6).astype(np.float32)
    linked.eliminate_zeros()
    linked = _same_story(model, rows, linked)
    _, story = connected_components(linked, directed=False)
    counts = np.bincount(story, minlength=story.max(initial=-1) + 1)
    members: dict[int, tuple[int, ...]] = {}
    for i in np.flatnonzero(counts[story] > 1):
        members.setdefault(int(story[i]), ())
        members[int(story[i])] += (int(i),)

    audience_index: dict[str, int] = {"*": 0}
    g_rows, g_cols = [], []
    for i, r in enumerate(rows):
        for audience in model.gem_audience[r]:
            g_rows.append(i)
            g_cols.append(audience_index.setdefault(audience, len(audience_index)))
    gem = csr(
        sp.coo_matrix(
            (np.ones(len(g_rows), dtype=np.float32), (g_rows, g_cols)),
            shape=(len(rows), len(audience_index)),
        )
    )
    return _Items(
        rows=rows,
        ids=ids,
        local={item_id: i for i, item_id in enumerate(ids)},
        items_t=csr(model.matrix[rows].T),
        factor=np.empty(0, dtype=np.float32),
        source=source.astype(np.int64),
        story=story.astype(np.int64),
        members=members,
        sims=sims,
        similarity=similarity,
        gem=gem,
        audience_index=audience_index,
        mute_hits=sp.csr_matrix((0, len(rows)), dtype=np.float32),
    )


def stories(model: CorpusModel, rows: np.ndarray, config: RankConfig) -> np.ndarray:
    """Story code of each of the model rows ``rows``: equal codes are collapsed as one story
    (near-duplicates whose names, numbers and titles agree; see :func:`_same_story`)."""
    rows = np.asarray(rows, dtype=np.int64)
    return _item_structure(model, rows, config, dense=False).story


def _same_story(model: CorpusModel, rows: np.ndarray, linked: sp.csr_matrix) -> sp.csr_matrix:
    """``linked`` (similar-enough item pairs) without the pairs whose names and numbers
    disagree: the same template about another company or price is another story."""
    anchors = model.item_anchors()
    upper = sp.triu(linked, k=1).tocoo()
    keep = np.fromiter(
        (
            same_story(anchors[rows[i]], anchors[rows[j]])
            for i, j in zip(upper.row.tolist(), upper.col.tolist(), strict=True)
        ),
        dtype=bool,
        count=upper.nnz,
    )
    return csr(
        sp.coo_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (upper.row[keep], upper.col[keep])),
            shape=linked.shape,
        )
    )


def _gem_block(items: _Items, profiles: Profiles, people: range) -> sp.csr_matrix | None:
    if items.gem.nnz == 0:
        return None
    r, c = [], []
    for k, p in enumerate(people):
        r.append(k)
        c.append(0)
        for audience in profiles.audiences[p]:
            if audience in items.audience_index:
                r.append(k)
                c.append(items.audience_index[audience])
    member = sp.csr_matrix(
        (np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(people), len(items.audience_index))
    )
    hits = csr(member @ items.gem.T)
    return hits if hits.nnz else None


def score_block(items: _Items, profiles: Profiles, people: range, config: RankConfig) -> np.ndarray:
    """Final scores (people × items) with decay, gem boost, mutes, judged items and the floor
    applied (excluded items are -inf)."""
    block = (profiles.vectors[people.start : people.stop] @ items.items_t).toarray()
    block *= items.factor[None, :]
    gems = _gem_block(items, profiles, people)
    if gems is not None:
        r, c = gems.nonzero()
        block[r, c] *= np.float32(1.0 + config.gem_boost)
    if items.mute_hits.nnz:
        muted = csr(profiles.mutes[people.start : people.stop] @ items.mute_hits)
        r, c = muted.nonzero()
        block[r, c] = _NEG
    for k, p in enumerate(people):
        if profiles.judged[p]:
            cols = [items.local[i] for i in profiles.judged[p] if i in items.local]
            block[k, cols] = _NEG
    block[~(block >= config.min_relevance)] = _NEG
    return block


def _similarity_lookup(items: _Items, cands: np.ndarray):  # noqa: ANN202
    """A function (chosen items (k,), candidate rows (k, C)) -> (k, C) cosine similarities."""
    if items.sims is not None:
        sims = items.sims
        return lambda chosen, rows: sims[chosen[:, None], rows].astype(np.float32)
    union, local = np.unique(cands, return_inverse=True)
    position = np.full(len(items.ids), -1, dtype=np.int64)
    position[union] = np.arange(len(union))
    sub = items.similarity[union]
    dense = csr(sub @ sub.T).toarray()
    return lambda chosen, rows: dense[position[chosen][:, None], position[rows]]


def choose(
    items: _Items, block: np.ndarray, limit: int, config: RankConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``block``: up to ``limit`` item indices (-1 = none), in digest order, after
    duplicate collapse, per-source cap and MMR; and their scores."""
    n_people = block.shape[0]
    c = min(block.shape[1], limit * config.candidate_factor)
    cands = top_k_dense(block, c)
    scores = np.take_along_axis(block, cands, axis=1)
    avail = np.isfinite(scores)
    stories = items.story[cands]
    earlier = np.tril(np.ones((c, c), dtype=bool), -1)
    avail &= ~((stories[:, :, None] == stories[:, None, :]) & earlier[None]).any(axis=2)
    similarity_to = _similarity_lookup(items, cands)
    sources = items.source[cands]
    lam = config.diversity_lambda
    rel = np.where(avail, scores, 0.0).astype(np.float32)
    max_sim = np.zeros_like(rel)
    per_source = np.zeros(cands.shape, dtype=np.int32)
    ar = np.arange(n_people)
    chosen = np.full((n_people, limit), -1, dtype=np.int64)
    chosen_scores = np.zeros((n_people, limit), dtype=np.float32)
    for step in range(limit):
        value = np.where(avail, lam * rel - (1.0 - lam) * max_sim, -np.inf)
        j = value.argmax(axis=1)
        ok = avail[ar, j]
        if not ok.any():
            break
        chosen[ok, step] = cands[ar[ok], j[ok]]
        chosen_scores[ok, step] = scores[ar[ok], j[ok]]
        avail[ar[ok], j[ok]] = False
        max_sim[ok] = np.maximum(max_sim[ok], similarity_to(cands[ar[ok], j[ok]], cands[ok]))
        if config.per_source_cap > 0:
            same = sources[ok] == sources[ar[ok], j[ok]][:, None]
            per_source[ok] += same
            avail &= per_source < config.per_source_cap
    return chosen, chosen_scores


def _block_digests(
    model: CorpusModel,
    items: _Items,
    profiles: Profiles,
    people: range,
    config: RankConfig,
    limit: int,
    readable: _Readable,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
    """Score, pick and explain one block of people (numeric work; runs in a worker thread)."""
    block = score_block(items, profiles, people, config)
    chosen, chosen_scores = choose(items, block, limit, config)
    del block
    r, s = np.nonzero(chosen >= 0)
    person_idx = r + people.start
    item_idx = chosen[r, s]
    named, top_cols = explain_items(model, profiles, items, person_idx, item_idx, config, readable)
    return person_idx, item_idx, chosen_scores[r, s], named, top_cols


def explain_items(
    model: CorpusModel,
    profiles: Profiles,
    items: _Items,
    person_idx: np.ndarray,
    item_idx: np.ndarray,
    config: RankConfig,
    readable: _Readable | None = None,
) -> tuple[list, list]:
    """The terms that explain each (profile row, candidate item) pair: the one call of
    :func:`explain_pairs` for ranked picks and for scored pairs alike."""
    return explain_pairs(
        profiles.explain_vectors,
        profiles.explain_owners,
        profiles.explain_keys,
        profiles.vocabulary_size,
        model.matrix[items.rows[item_idx]],
        person_idx,
        config.explain_terms,
        readable if readable is not None else _Readable(model),
    )


def _cycle_collector_paused(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` with the cycle collector paused while it runs (and restored as it was after):
    ranking makes hundreds of thousands of small objects and no reference cycles."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()

    return run


@_cycle_collector_paused
def select_digests(
    model: CorpusModel,
    profiles: Profiles,
    rows: np.ndarray,
    now: datetime,
    config: RankConfig,
    limit: int,
) -> dict[str, list[Ranked]]:
    """Digests of up to ``limit`` entries for every profile, over the model rows ``rows``."""
    result: dict[str, list[Ranked]] = {pid: [] for pid in profiles.person_ids}
    if limit <= 0 or not len(rows) or not len(profiles):
        return result
    items = prepare_items(model, profiles, rows, now, config)
    blocks = [
        range(start, min(start + config.people_chunk, len(profiles)))
        for start in range(0, len(profiles), config.people_chunk)
    ]
    threads = config.threads or os.cpu_count() or 1
    readable = _Readable(model)
    person_ids = profiles.person_ids
    gems = {
        i: model.gem_audience[r] for i, r in enumerate(items.rows.tolist()) if model.gem_audience[r]
    }
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(blocks)))) as pool:
        done = pool.map(
            lambda people: _block_digests(model, items, profiles, people, config, limit, readable),
            blocks,
        )
        extras: dict[int, tuple[str, tuple[str, ...]]] = {}
        for person_idx, item_idx, scores, named, top_cols in done:
            for p, i, score, pair_named, pair_top in zip(
                person_idx.tolist(),
                item_idx.tolist(),
                scores.tolist(),
                named,
                top_cols,
                strict=True,
            ):
                matched, top_terms, why = sentence(profiles.interests[p], pair_named, pair_top)
                suffix, also = extras.get(i) or extras.setdefault(i, _item_extras(model, items, i))
                gem = gems.get(i)
                if gem and _gem_matches(gem, profiles.audiences[p]):
                    why += " A curator recommended it for you."
                result[person_ids[p]].append(
                    Ranked(items.ids[i], score, why + suffix, matched, top_terms, also)
                )
    return result


class _Readable:
    """Vocabulary column -> readable words, memoised."""

    def __init__(self, model: CorpusModel) -> None:
        self.model = model
        self.cache: dict[int, str] = {}

    def __call__(self, column: int) -> str:
        word = self.cache.get(column)
        if word is None:
            word = self.cache[column] = self.model.readable(column)
        return word


def _item_extras(model: CorpusModel, items: _Items, i: int) -> tuple[str, tuple[str, ...]]:
    """(sentence suffix, also_from ids) for candidate item ``i``: its collapsed duplicates."""
    story = items.members.get(int(items.story[i]), ())
    also = tuple(items.ids[m] for m in story if m != i)
    own = model.source_ids[items.rows[i]]
    others = {model.source_ids[items.rows[m]] for m in story if m != i} - {own}
    if not others:
        return "", also
    plural = "s" if len(others) > 1 else ""
    return f" Also reported by {len(others)} other source{plural}.", also


def _gem_matches(gem_audience: tuple[str, ...], audiences: frozenset[str]) -> bool:
    return "*" in gem_audience or bool(audiences.intersection(gem_audience))
