"""Profiles: what each person's declared interests, mutes and feedback mean as vectors.

An interest phrase is a tiny query, and tiny queries against long articles are where plain
cosine is weak, so each phrase becomes a vector in three steps (all phrases of all people at
once, as sparse matrix products; each distinct phrase is done once however many people share it):

1. **Match**: the phrase's stems and stem pairs ("middle east") as a unit vector. A phrase with
   a word the window does not know at all ("python" in a week of general news) is not matched
   through its other words ("test" would bring rugby): only items holding every word of it
   count, so a person whose interests match nothing gets an empty digest, not filler.
2. **Expand** (pseudo-relevance feedback): score the window with it, take the best
   ``expansion_docs`` items (the *pool*) weighted by their score times the square of the share
   of the phrase's words they hold (evidence for the whole phrase, not its most common word),
   and add the ``expansion_terms`` strongest single words of their centroid that are not
   already in the phrase and that occur in pool items holding at least ``expansion_min_share``
   of the pool's weight ("hockey" gains "nhl", "playoff", "goalie"…; one item's own words, or a
   sub-topic's, do not get in) with a ``expansion_weight`` share of the vector.
3. **Calibrate**: divide by the vector's mean score over that same pool (weighted as above), so
   relevance 1.0 means "as strong as the best matches this phrase has in the window" for every
   phrase. That makes ``min_relevance`` mean the same thing for every person and lets interests
   of different breadth be mixed by their declared weights.

A person's vector is the weighted sum of their interests (weights relative to the largest) plus a
Rocchio feedback part: towards the centroid of items marked useful, away from those marked not
useful, each calibrated on the judged items themselves and ramped in as signals accumulate; and
per interest: each judged item is credited to the interest that scores it highest, and an
interest whose items were marked useful ``u`` and not useful ``n`` times weighs
``((1 + u) / (1 + n)) ** feedback_interest`` relative to the person's other interests.
For explanations, every stored (person, term) entry remembers which interest put most weight on
it (``owners``; -1 = feedback).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from curation.rank.model import CorpusModel, hash_words
from curation.rank.sparse import (
    csr,
    normalize_rows,
    rank_in_row,
    row_ids,
    scale_rows,
    top_per_row,
)
from curation.rank.text import stems, with_bigrams
from curation.rank.types import PersonQuery, RankConfig

FEEDBACK_OWNER = -1
EXPLAIN_TERMS_PER_PERSON = 64  # explanations look at each person's strongest terms only


def normalise_phrase(phrase: str) -> str:
    """The key under which a phrase is shared between people: case- and space-insensitive."""
    return " ".join(phrase.casefold().split())


@dataclass(frozen=True, eq=False, slots=True)
class Profiles:
    """Everything :func:`curation.rank.rank_all` needs about a set of people, as matrices.

    Row ``i`` of ``vectors`` / ``mutes`` is ``person_ids[i]``. Built for one
    :class:`CorpusModel` (same vocabulary); rebuild after a refit.
    """

    person_ids: tuple[str, ...]
    vectors: sp.csr_matrix  # (people × terms) calibrated profile
    owners: np.ndarray  # aligned with vectors.data: index into interests[i], or -1 = feedback
    interests: tuple[tuple[str, ...], ...]  # each person's phrases, as declared
    mutes: sp.csr_matrix  # (people × mute phrases) 1 where the person mutes the phrase
    mute_words: sp.csr_matrix  # (mute phrases × HASH_FEATURES) 1/len over the phrase's stems
    judged: tuple[frozenset[str], ...]  # items each person already gave feedback on
    audiences: tuple[frozenset[str], ...]
    vocabulary_size: int
    # for explanations: each person's strongest positive entries, their owners, and their
    # sorted ``row * vocabulary_size + column`` keys (for lookups)
    explain_vectors: sp.csr_matrix
    explain_owners: np.ndarray
    explain_keys: np.ndarray

    def __len__(self) -> int:
        return len(self.person_ids)


@dataclass(frozen=True, eq=False, slots=True)
class PhraseVectors:
    """Calibrated vectors of distinct phrases, plus what went into them (for tests/benchmarks)."""

    phrases: tuple[str, ...]
    query: sp.csr_matrix  # (phrases × terms) the phrase's own terms, unit length
    expanded: sp.csr_matrix  # before calibration
    calibrated: sp.csr_matrix
    reference: np.ndarray  # (phrases,) score that calibration maps to 1.0


def phrase_vectors(model: CorpusModel, phrases: Sequence[str], config: RankConfig) -> PhraseVectors:
    """Match, expand and calibrate each phrase against the model's window (see module doc)."""
    n_terms = len(model.terms)
    rows, cols = [], []
    for i, phrase in enumerate(phrases):
        words = stems(phrase, use_stemmer=config.use_stemmer)
        if any(w not in model.vectorizer.vocabulary_ for w in words):
            # a word the window does not know: the rest of the phrase alone ("test" of
            # "python testing") is no evidence; only items holding every word are (see below)
            continue
        found = model.term_columns(with_bigrams(words, config.bigrams))
        rows.extend([i] * len(found))
        cols.extend(found.tolist())
    ones = np.ones(len(rows), dtype=np.float32)
    query = normalize_rows(csr(sp.coo_matrix((ones, (rows, cols)), shape=(len(phrases), n_terms))))
    if not len(model):
        zero = np.zeros(len(phrases))
        return PhraseVectors(tuple(phrases), query, query, query.multiply(0).tocsr(), zero)
    # the pool: each phrase's best window items, weighted by score (weights sum to 1)
    pool = top_per_row((query @ model.transposed()).tocsr(), config.expansion_docs)
    pool.data = np.maximum(pool.data, 0)
    pool = _with_unknown_words(model, phrases, query, pool, config)
    # evidence for the whole phrase: each pool item weighs by the square of the share of the
    # phrase's words it holds, so expansion and calibration follow the items about all of
    # "crude oil", not those that only say "oil"; a phrase that no pool item holds whole
    # ("knitting patterns" in a week without knitting) matches nothing rather than its
    # commonest word ("traffic patterns")
    cover = _coverage(model, phrases, pool, config)
    whole = np.zeros(len(phrases), dtype=bool)
    whole[row_ids(cover)[cover.data >= 1.0 - 1e-4]] = True
    scores = pool
    pool = scale_rows(csr(pool.multiply(cover.power(2))), whole.astype(np.float64))
    query = scale_rows(query, whole.astype(np.float64))
    query.eliminate_zeros()
    sums = np.asarray(pool.sum(axis=1)).ravel()
    squares = np.asarray(pool.multiply(scores).sum(axis=1)).ravel()
    pool = scale_rows(pool, np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0))
    has_query = np.diff(query.indptr) > 0
    # score-weighted mean of the phrase's own score over its pool
    pool_score = np.divide(squares, sums, out=np.zeros_like(sums), where=sums > 0) * has_query
    expanded, added, added_norm = query, None, np.zeros(len(phrases))
    if config.expansion_terms > 0:
        added, added_norm = _expansion(
            model, query, pool, config.expansion_terms, config.expansion_min_share
        )
    if added is not None:
        beta = config.expansion_weight
        has_added = added_norm > 0
        q_weight = np.where(has_added, 1.0 - beta, 1.0)
        a_weight = np.where(has_query, beta, 1.0) * has_added
        expanded = csr(scale_rows(query, q_weight) + scale_rows(added, a_weight))
        # pool-weighted mean score of the expanded vector: exact for the phrase's own terms;
        # for the added words, e·x_d summed over the pool is |x_d| × (e·centroid), with |x_d|
        # taken as the pool's weighted mean length
        norms = np.sqrt(np.asarray(model.matrix.multiply(model.matrix).sum(axis=1)).ravel())
        mean_norm = pool @ norms
        reference = q_weight * pool_score + a_weight * mean_norm * added_norm
    else:
        reference = pool_score
    scale = np.divide(1.0, reference, out=np.zeros_like(reference), where=reference > 0)
    return PhraseVectors(
        phrases=tuple(phrases),
        query=query,
        expanded=expanded,
        calibrated=scale_rows(expanded, scale),
        reference=reference,
    )


def _with_unknown_words(
    model: CorpusModel,
    phrases: Sequence[str],
    query: sp.csr_matrix,
    pool: sp.csr_matrix,
    config: RankConfig,
) -> sp.csr_matrix:
    """For phrases with no word in the vocabulary (too new or too rare at fit time), the pool is
    the window items that contain all of the phrase's words."""
    empty = np.flatnonzero(np.diff(query.indptr) == 0)
    if not len(empty):
        return pool
    word_rows = [stems(phrases[i], use_stemmer=config.use_stemmer) for i in empty]
    hits = (_per_phrase_fraction(hash_words(word_rows)) @ model.hashed.T).tocsr()
    hits.data = np.where(hits.data >= 1.0 - 1e-4, 1.0, 0.0).astype(np.float32)
    hits.eliminate_zeros()
    place = sp.csr_matrix(
        (np.ones(len(empty), dtype=np.float32), (empty, np.arange(len(empty)))),
        shape=(pool.shape[0], len(empty)),
    )
    return csr(pool + place @ top_per_row(hits, config.expansion_docs))


def _coverage(
    model: CorpusModel, phrases: Sequence[str], pool: sp.csr_matrix, config: RankConfig
) -> sp.csr_matrix:
    """For each pool entry (phrase, item): the share of the phrase's distinct words in the item
    (words outside the vocabulary count, as missing unless the item has them)."""
    word_rows = [sorted(set(stems(p, use_stemmer=config.use_stemmer))) for p in phrases]
    rows = row_ids(pool)
    cover = np.ones(pool.nnz, dtype=np.float32)  # a one-word phrase's pool items all hold it
    multi = np.array([len(w) > 1 for w in word_rows], dtype=bool)[rows]
    if multi.any():
        fraction = _per_phrase_fraction(hash_words(word_rows))
        # only the phrases' own word columns matter: slice them once, not every item's words
        needed, local = np.unique(fraction.indices, return_inverse=True)
        fraction = sp.csr_matrix(
            (fraction.data, local, fraction.indptr), shape=(fraction.shape[0], len(needed))
        )
        held = csr(model.hashed[:, needed])
        cover[multi] = np.asarray(
            fraction[rows[multi]].multiply(held[pool.indices[multi]]).sum(axis=1)
        ).ravel()
    return sp.csr_matrix((cover, pool.indices.copy(), pool.indptr.copy()), shape=pool.shape)


def _expansion(
    model: CorpusModel, query: sp.csr_matrix, pool: sp.csr_matrix, n_terms: int, min_share: float
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Unit vectors of the ``n_terms`` strongest single words of each pool's centroid that are
    not in the phrase, and the centroid's norm over those words."""
    centroid = (pool @ model.expansion).tocsr()
    centroid.data = np.maximum(centroid.data, 0)
    if min_share > 0:  # only words that cover the pool broadly (not one item's own words)
        present = model.expansion.copy()
        present.data[:] = 1.0
        breadth = csr(pool @ present)
        breadth.data = (breadth.data >= min_share).astype(np.float32)
        centroid = csr(centroid.multiply(breadth))
    # the strongest words, then without the phrase's own (at most ``widest`` of them)
    widest = int(np.diff(query.indptr).max(initial=0))
    top = top_per_row(centroid, n_terms + widest)
    del centroid
    if widest:
        own = np.full((query.shape[0], widest), -1, dtype=np.int64)
        rows = row_ids(query)
        own[rows, np.arange(query.nnz) - query.indptr[rows]] = query.indices
        top.data[(own[row_ids(top)] == top.indices[:, None]).any(axis=1)] = 0
    top.eliminate_zeros()
    top = top_per_row(top, n_terms)
    norm = np.sqrt(np.asarray(top.multiply(top).sum(axis=1)).ravel())
    return normalize_rows(top), norm


def _per_phrase_fraction(words: sp.csr_matrix) -> sp.csr_matrix:
    """Binary word rows scaled so that a row sums to 1 (an item containing every word hits 1)."""
    counts = np.diff(words.indptr).astype(np.float64)
    return scale_rows(words, np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0))


PhraseCache = dict[str, tuple[np.ndarray, np.ndarray]]  # normalised phrase -> (columns, values)


def build_profiles(
    model: CorpusModel,
    people: Sequence[PersonQuery],
    config: RankConfig,
    *,
    phrase_cache: PhraseCache | None = None,
) -> Profiles:
    """Profiles of ``people`` against ``model``: interests, feedback, mutes (see module doc).

    ``phrase_cache`` (one per model: empty it when the model changes) keeps each phrase's
    calibrated vector between calls, so chunks of people sharing phrases expand each once."""
    n_terms = len(model.terms)
    keys: dict[str, int] = {}
    for person in people:
        for phrase, _weight in person.interests:
            keys.setdefault(normalise_phrase(phrase), len(keys))
    phrases = calibrated_phrases(model, list(keys), config, phrase_cache)

    # (person, interest position, phrase row, weight) for every declared interest
    p_rows, positions, phrase_rows, weights = [], [], [], []
    for i, person in enumerate(people):
        if not person.interests:
            continue
        rows_of = [keys[normalise_phrase(phrase)] for phrase, _ in person.interests]
        learned = _interest_feedback(model, phrases, rows_of, person, config)
        declared = [w * m for (_, w), m in zip(person.interests, learned, strict=True)]
        top = max(declared)
        for pos, weight in enumerate(declared):
            p_rows.append(i)
            positions.append(pos)
            phrase_rows.append(rows_of[pos])
            weights.append(weight / top)
    parts = [_interest_entries(phrases, p_rows, positions, phrase_rows, weights, n_terms)]
    parts.append(_feedback_entries(model, people, config))
    vectors, owners = _combine(parts, len(people), n_terms)
    keep = (vectors.data > 0) & (rank_in_row(vectors) < EXPLAIN_TERMS_PER_PERSON)
    kept_rows = row_ids(vectors)[keep]
    explain_vectors = sp.csr_matrix(
        (
            vectors.data[keep],
            vectors.indices[keep],
            np.concatenate([[0], np.cumsum(np.bincount(kept_rows, minlength=len(people)))]),
        ),
        shape=vectors.shape,
    )
    mutes, mute_words = _mute_matrices(people, config)
    return Profiles(
        person_ids=tuple(p.id for p in people),
        vectors=vectors,
        owners=owners,
        interests=tuple(tuple(phrase for phrase, _ in p.interests) for p in people),
        mutes=mutes,
        mute_words=mute_words,
        judged=tuple(frozenset(item_id for item_id, _ in p.feedback) for p in people),
        audiences=tuple(frozenset(p.audiences) for p in people),
        vocabulary_size=n_terms,
        explain_vectors=explain_vectors,
        explain_owners=owners[keep],
        explain_keys=kept_rows * n_terms + vectors.indices[keep].astype(np.int64),
    )


def _interest_feedback(
    model: CorpusModel,
    phrases: sp.csr_matrix,
    rows_of: list[int],
    person: PersonQuery,
    config: RankConfig,
) -> list[float]:
    """Per interest: a weight multiplier learnt from the feedback on the items it served.

    Each judged item is credited to the person's interest that scores it highest; an interest
    whose items were marked useful ``u`` times and not useful ``n`` times gets
    ``((1 + u) / (1 + n)) ** feedback_interest`` (relative to the person's other interests,
    since weights are taken relative to the largest). With one interest, nothing changes."""
    if len(rows_of) < 2 or not person.feedback or config.feedback_interest <= 0:
        return [1.0] * len(rows_of)
    signals = [(model.index[i], s) for i, s in person.feedback if i in model.index]
    if not signals:
        return [1.0] * len(rows_of)
    judged = np.array([r for r, _ in signals], dtype=np.int64)
    scores = (phrases[rows_of] @ model.matrix[judged].T).toarray()  # interests × judged
    useful = np.ones(len(rows_of))
    useless = np.ones(len(rows_of))
    for k, (_, signal) in enumerate(signals):
        if scores[:, k].max() <= 0:
            continue
        owner = int(scores[:, k].argmax())
        if signal > 0:
            useful[owner] += 1
        else:
            useless[owner] += 1
    return ((useful / useless) ** config.feedback_interest).tolist()


def calibrated_phrases(
    model: CorpusModel, phrases: Sequence[str], config: RankConfig, cache: PhraseCache | None
) -> sp.csr_matrix:
    """(phrases × terms) calibrated vectors; each row is computed on its own (no phrase
    depends on another), so rows taken from ``cache`` equal freshly computed ones."""
    if cache is None:
        return phrase_vectors(model, phrases, config).calibrated
    missing = [p for p in dict.fromkeys(phrases) if p not in cache]
    if missing:
        fresh = phrase_vectors(model, missing, config).calibrated
        for i, phrase in enumerate(missing):
            start, end = fresh.indptr[i], fresh.indptr[i + 1]
            cache[phrase] = (fresh.indices[start:end].copy(), fresh.data[start:end].copy())
    rows = [cache[p] for p in phrases]
    lengths = np.fromiter((len(c) for c, _ in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([c for c, _ in rows]) if rows else np.empty(0, dtype=np.int32)
    data = np.concatenate([v for _, v in rows]) if rows else np.empty(0, dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(phrases), len(model.terms)))


_Entries = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # rows, cols, values, owners


def _interest_entries(
    phrases: sp.csr_matrix,
    p_rows: list[int],
    positions: list[int],
    phrase_rows: list[int],
    weights: list[float],
    n_terms: int,
) -> _Entries:
    phrase_rows_a = np.asarray(phrase_rows, dtype=np.int64)
    starts = phrases.indptr[phrase_rows_a]
    lengths = phrases.indptr[phrase_rows_a + 1] - starts
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    take = offsets + np.arange(total)
    return (
        np.repeat(np.asarray(p_rows, dtype=np.int64), lengths),
        phrases.indices[take].astype(np.int64),
        phrases.data[take] * np.repeat(np.asarray(weights, dtype=np.float32), lengths),
        np.repeat(np.asarray(positions, dtype=np.int32), lengths),
    )


def _feedback_entries(
    model: CorpusModel, people: Sequence[PersonQuery], config: RankConfig
) -> _Entries:
    """Rocchio: +positive × (useful centroid) − negative × (not-useful centroid), per person.

    Each centroid keeps its ``feedback_terms`` strongest words and is calibrated so that the
    judged items themselves score 1.0 against it; the whole part is ramped in linearly until the
    person has ``feedback_full_after`` signals."""
    out: list[_Entries] = []
    for sign, strength in ((1, config.feedback_positive), (-1, config.feedback_negative)):
        if strength <= 0:
            continue
        p_idx, d_idx, ramps = [], [], []
        for i, person in enumerate(people):
            rows = model.rows(item_id for item_id, s in person.feedback if s == sign)
            if not len(rows):
                continue
            n_signals = len(person.feedback)
            ramp = min(1.0, n_signals / max(config.feedback_full_after, 1))
            p_idx.append(np.full(len(rows), i))
            d_idx.append(rows)
            ramps.append((i, ramp, len(rows)))
        if not ramps:
            continue
        pi = np.concatenate(p_idx)
        di = np.concatenate(d_idx)
        who = np.array([r[0] for r in ramps])
        local = np.searchsorted(who, pi)
        sizes = np.array([r[2] for r in ramps], dtype=np.float32)
        select = csr(sp.coo_matrix((1.0 / sizes[local], (local, di)), shape=(len(who), len(model))))
        centroid = csr(select @ model.unit)
        # favour words shared by many of the judged items over one item's peculiar words
        present = model.unit.copy()
        present.data[:] = 1.0
        centroid = top_per_row(csr(centroid.multiply(select @ present)), config.feedback_terms)
        # calibrate: mean score of the judged items against their own centroid -> 1.0
        judged = np.unique(di)
        self_scores = np.asarray(
            csr(centroid @ model.matrix[judged].T).multiply(select[:, judged]).sum(axis=1)
        ).ravel()
        ramp = np.array([r[1] for r in ramps])
        factor = np.divide(
            sign * strength * ramp, self_scores, out=np.zeros_like(ramp), where=self_scores > 0
        )
        centroid = scale_rows(centroid, factor)
        out.append(
            (
                who[row_ids(centroid)].astype(np.int64),
                centroid.indices.astype(np.int64),
                centroid.data.astype(np.float32),
                np.full(centroid.nnz, FEEDBACK_OWNER, dtype=np.int32),
            )
        )
    if not out:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int32)
    return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))  # type: ignore[return-value]


def _combine(
    parts: list[_Entries], n_people: int, n_terms: int
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sum the entries into one CSR matrix; each (person, term) keeps the owner that put the
    largest positive weight on it."""
    rows, cols, values, owners = (np.concatenate(x) for x in zip(*parts, strict=True))
    keys = rows * n_terms + cols
    order = np.lexsort((-values, keys))
    keys, values, owners = keys[order], values[order], owners[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(first)
    sums = np.add.reduceat(values, starts) if len(starts) else np.empty(0, dtype=np.float32)
    ukeys = keys[starts]
    matrix = sp.csr_matrix(
        (sums.astype(np.float32), ((ukeys // n_terms), (ukeys % n_terms))),
        shape=(n_people, n_terms),
    )
    matrix.sort_indices()
    # csr_matrix from sorted unique (row, col) keeps that order, so owners stay aligned
    return matrix, owners[starts].astype(np.int32)


def _mute_matrices(
    people: Sequence[PersonQuery], config: RankConfig
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    keys: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    word_rows: list[list[str]] = []
    for i, person in enumerate(people):
        for phrase in person.mutes:
            words = stems(phrase, use_stemmer=config.use_stemmer)
            if not words:
                continue
            key = " ".join(words)
            if key not in keys:
                keys[key] = len(keys)
                word_rows.append(words)
            pairs.append((i, keys[key]))
    mutes = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float32), ([p for p, _ in pairs], [m for _, m in pairs])),
        shape=(len(people), len(keys)),
    )
    mutes.sum_duplicates()
    mutes.data[:] = 1.0
    return csr(mutes), _per_phrase_fraction(hash_words(word_rows))
