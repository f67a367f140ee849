"""The corpus model: a vocabulary and term weights fitted once on the recent window, plus the
weighted item matrix that every ranking call reuses.

Fit it in the ingest/batch step (:meth:`CorpusModel.fit`), keep it (it pickles), and feed new
items through :meth:`CorpusModel.add_items`, which transforms them with the fitted vocabulary and
term weights instead of refitting. :attr:`CorpusModel.needs_refit` says when enough has been
added that a refit is worth it; :meth:`CorpusModel.since` drops items that left the window.

Item vectors: scikit-learn's ``CountVectorizer`` (over our own analyzer: stems and stem pairs)
counts title and body terms separately; a title occurrence counts ``title_weight`` times. Counts
are then weighted BM25-style — saturating term frequency with length normalisation, times the
window's inverse document frequency — so a long article does not outscore a short one just by
repeating words. Derived matrices: unit-length rows (cosine); each item's strongest words only,
renormalised (for duplicate and diversity checks); the unit rows without stem pairs (what query
expansion draws single words from); and a hashed set of every word (so a mute works even for a
word too rare or too new to be in the vocabulary).

``max_df`` is no ceiling on the vocabulary: a word in most of the window is still a word someone
may ask for ("python" in a feed that is 80 % about Python), matched with its (low) BM25 idf. Such
*common* words are only kept out of query expansion and of the duplicate/diversity vectors. Each
item also keeps its *story marks* (title words, names, numbers) for the duplicate decision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime
from itertools import zip_longest

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

from curation.rank.sparse import csr, normalize_rows, row_ids, top_per_row
from curation.rank.text import display_words, stems, story_marks, with_bigrams
from curation.rank.types import ItemText, RankConfig

HASH_FEATURES = 2**20
_MISSING = object()


def identity_analyzer(terms: list[str]) -> list[str]:
    """Analyzer for pre-analysed term lists (module level so the vectorizers pickle)."""
    return terms


_HASHER = HashingVectorizer(
    analyzer=identity_analyzer,
    n_features=HASH_FEATURES,
    alternate_sign=False,
    norm=None,
    binary=True,
    dtype=np.float32,
)


def hash_words(word_lists: Sequence[list[str]]) -> sp.csr_matrix:
    """Binary (rows × HASH_FEATURES) matrix: which stems occur in each list."""
    if not word_lists:
        return sp.csr_matrix((0, HASH_FEATURES), dtype=np.float32)
    return csr(_HASHER.transform(word_lists))


@dataclass(frozen=True, slots=True)
class _Analysed:
    title_terms: list[list[str]]
    body_terms: list[list[str]]
    words: list[list[str]]


def _analyse(
    items: Sequence[ItemText], config: RankConfig, forms: dict[str, dict[str, int]] | None
) -> _Analysed:
    title_terms, body_terms, words = [], [], []
    for item in items:
        t = stems(item.title or "", use_stemmer=config.use_stemmer, forms=forms)
        b = stems(item.text or "", use_stemmer=config.use_stemmer, forms=forms)
        title_terms.append(with_bigrams(t, config.bigrams))
        body_terms.append(with_bigrams(b, config.bigrams))
        words.append(t + b)
    return _Analysed(title_terms, body_terms, words)


def _epoch(value: datetime | None) -> float:
    return value.timestamp() if value is not None else math.nan


class EmptyCorpus(ValueError):
    """The window holds no word at all to rank by (items with empty or stop-word-only text)."""


@dataclass(frozen=True, eq=False, slots=True)
class CorpusModel:
    """A fitted vocabulary and the weighted matrix of the items in the window.

    Row ``i`` of every matrix is item ``ids[i]``. The model is immutable: :meth:`add_items` and
    :meth:`since` return new models that share the fitted vocabulary.
    """

    config: RankConfig
    vectorizer: CountVectorizer
    idf: np.ndarray  # (terms,) BM25 inverse document frequency of the fit
    avgdl: float  # mean weighted item length in the fit
    terms: np.ndarray  # (terms,) the vocabulary, column order
    is_pair: np.ndarray  # (terms,) True for stem pairs (bigrams)
    words: dict[str, str]  # stem -> most common surface word, for explanations
    fitted_count: int
    added_count: int
    ids: tuple[str, ...]
    index: dict[str, int]
    source_ids: tuple[str, ...]
    published: np.ndarray  # (items,) epoch seconds, NaN when unknown
    gem_audience: tuple[tuple[str, ...], ...]
    matrix: sp.csr_matrix  # (items × terms) BM25 weights: what profiles are scored against
    unit: sp.csr_matrix  # rows of ``matrix`` at unit length
    similarity: sp.csr_matrix  # strongest ``similarity_terms`` of ``unit``, renormalised
    expansion: sp.csr_matrix  # ``unit`` without the stem pairs: what query expansion adds from
    hashed: sp.csr_matrix  # (items × HASH_FEATURES) binary: every stem of the item
    cache: dict = field(default_factory=dict, repr=False)  # derived matrices, built on demand
    # (terms,) True for terms in more than ``max_df`` of the fit: kept for matching (their BM25
    # idf is low, not zero) but left out of expansion and of the duplicate/diversity vectors
    common: np.ndarray | None = None
    # (items,) each item's names, numbers and title words (see
    # :func:`curation.rank.text.story_marks`): two items are one story only when these agree
    anchors: tuple[frozenset[str], ...] = ()

    def __getstate__(self) -> list:
        return [getattr(self, f.name) for f in fields(self)]

    def __setstate__(self, state: list) -> None:
        """Models pickled before a field existed get its default (e.g. ``common``)."""
        for f, value in zip_longest(fields(self), state, fillvalue=_MISSING):
            if f is _MISSING:
                break
            if value is _MISSING:
                value = f.default_factory() if f.default is MISSING else f.default
            object.__setattr__(self, f.name, value)

    # ------------------------------------------------------------------ building
    @classmethod
    def fit(cls, items: Sequence[ItemText], config: RankConfig) -> CorpusModel:
        """Fit the vocabulary and term weights on ``items`` (the recent window)."""
        items = _unique_last(items)
        if not items:
            raise ValueError("cannot fit a corpus model on no items")
        forms: dict[str, dict[str, int]] = {}
        analysed = _analyse(items, config, forms)
        n = len(items)
        # no document-frequency ceiling on the vocabulary: a word most of the window shares is
        # still a word someone may ask for ("python" in a feed about Python); see ``common``
        vectorizer = CountVectorizer(
            analyzer=identity_analyzer,
            min_df=config.min_df if n >= config.min_df else 1,
            max_features=config.max_features,
            dtype=np.float32,
        )
        try:
            vectorizer.fit(
                t + b for t, b in zip(analysed.title_terms, analysed.body_terms, strict=True)
            )
        except ValueError:  # empty vocabulary: every term pruned; keep everything instead
            vectorizer = CountVectorizer(analyzer=identity_analyzer, dtype=np.float32)
            try:
                vectorizer.fit(
                    t + b for t, b in zip(analysed.title_terms, analysed.body_terms, strict=True)
                )
            except ValueError as exc:  # not one word in the whole window
                raise EmptyCorpus(f"no words to rank in {n} items") from exc
        counts = _counts(vectorizer, analysed, config)
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        common = df > config.max_df * n if n * config.max_df >= config.min_df else df < 0
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        avgdl = float(lengths.mean()) if lengths.size and lengths.mean() > 0 else 1.0
        terms = vectorizer.get_feature_names_out()
        is_pair = np.char.find(terms.astype(str), " ") >= 0
        vocab_words = {w for t in terms for w in t.split(" ")}
        words = {k: v for k, v in display_words(forms).items() if k in vocab_words}
        base = cls(
            config=config,
            vectorizer=vectorizer,
            idf=idf,
            avgdl=avgdl,
            terms=terms,
            is_pair=is_pair,
            words=words,
            fitted_count=n,
            added_count=0,
            ids=(),
            index={},
            source_ids=(),
            published=np.empty(0),
            gem_audience=(),
            matrix=sp.csr_matrix((0, len(terms)), dtype=np.float32),
            unit=sp.csr_matrix((0, len(terms)), dtype=np.float32),
            similarity=sp.csr_matrix((0, len(terms)), dtype=np.float32),
            expansion=sp.csr_matrix((0, len(terms)), dtype=np.float32),
            hashed=sp.csr_matrix((0, HASH_FEATURES), dtype=np.float32),
            common=common,
        )
        return base._append(items, analysed, counts, count_as_added=False)

    def add_items(self, items: Iterable[ItemText]) -> CorpusModel:
        """A model with ``items`` added (or replaced, by id), transformed with the fitted
        vocabulary and weights — nothing is refitted. Words outside the vocabulary are ignored
        for scoring (they still count for mutes)."""
        items = _unique_last(list(items))
        if not items:
            return self
        analysed = _analyse(items, self.config, None)
        counts = _counts(self.vectorizer, analysed, self.config)
        replaced = {item.id for item in items if item.id in self.index}
        model = (
            self._subset(np.array([i not in replaced for i in self.ids], dtype=bool))
            if replaced
            else self
        )
        return model._append(items, analysed, counts, count_as_added=True)

    def since(self, cutoff: datetime) -> CorpusModel:
        """A model without the items published before ``cutoff`` (undated items stay)."""
        keep = ~(self.published < cutoff.timestamp())
        return self if keep.all() else self._subset(keep)

    # ------------------------------------------------------------------ queries
    @property
    def needs_refit(self) -> bool:
        """True once the items added since the fit exceed ``refit_after_growth`` of the fit."""
        return self.added_count > self.config.refit_after_growth * self.fitted_count

    def __len__(self) -> int:
        return len(self.ids)

    def transposed(self) -> sp.csr_matrix:
        """``matrix.T`` as CSR (terms × items), built once per model."""
        if "matrix_t" not in self.cache:
            self.cache["matrix_t"] = csr(self.matrix.T)
        return self.cache["matrix_t"]

    def rows(self, ids: Iterable[str]) -> np.ndarray:
        """Row numbers of the given item ids that are in the model (unknown ids are skipped)."""
        return np.array([self.index[i] for i in ids if i in self.index], dtype=np.int64)

    def term_columns(self, terms: Iterable[str]) -> np.ndarray:
        """Vocabulary columns of ``terms`` (terms outside the vocabulary are skipped)."""
        vocab = self.vectorizer.vocabulary_
        return np.array([vocab[t] for t in terms if t in vocab], dtype=np.int64)

    def readable(self, column: int) -> str:
        """Vocabulary column ``column`` as words a person can read."""
        return " ".join(self.words.get(part, part) for part in str(self.terms[column]).split(" "))

    # ------------------------------------------------------------------ internals
    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        k1, b = self.config.bm25_k1, self.config.bm25_b
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        norm = k1 * (1.0 - b + b * lengths / self.avgdl)
        weighted = counts.copy()
        tf = weighted.data
        weighted.data = (tf * (k1 + 1.0) / (tf + norm[row_ids(counts)])).astype(np.float32)
        weighted.data *= self.idf[weighted.indices]
        return weighted

    def _derived(self, weighted: sp.csr_matrix) -> tuple[sp.csr_matrix, ...]:
        unit = normalize_rows(weighted)
        common = getattr(self, "common", None)  # (models pickled before it existed: None)
        distinctive = unit
        if common is not None and common.any():
            distinctive = unit.copy()
            distinctive.data = np.where(common[unit.indices], 0.0, unit.data).astype(np.float32)
            distinctive.eliminate_zeros()
        similarity = distinctive
        if self.config.similarity_terms > 0:
            similarity = normalize_rows(top_per_row(distinctive, self.config.similarity_terms))
        singles = distinctive.copy()
        singles.data = np.where(self.is_pair[singles.indices], 0.0, singles.data).astype(np.float32)
        singles.eliminate_zeros()
        if self.config.expansion_doc_terms > 0:
            singles = top_per_row(singles, self.config.expansion_doc_terms)
        expansion = singles
        return unit, similarity, expansion

    def _append(
        self,
        items: Sequence[ItemText],
        analysed: _Analysed,
        counts: sp.csr_matrix,
        *,
        count_as_added: bool,
    ) -> CorpusModel:
        weighted = self._weigh(counts)
        unit, similarity, expansion = self._derived(weighted)
        start = len(self.ids)
        ids = self.ids + tuple(item.id for item in items)
        index = dict(self.index)
        index.update({item.id: start + i for i, item in enumerate(items)})
        return replace(
            self,
            cache={},
            added_count=self.added_count + (len(items) if count_as_added else 0),
            ids=ids,
            index=index,
            source_ids=self.source_ids + tuple(item.source_id for item in items),
            published=np.concatenate(
                [self.published, [_epoch(item.published_at) for item in items]]
            ),
            gem_audience=self.gem_audience + tuple(tuple(item.gem_audience) for item in items),
            matrix=csr(sp.vstack([self.matrix, weighted])),
            unit=csr(sp.vstack([self.unit, unit])),
            similarity=csr(sp.vstack([self.similarity, similarity])),
            expansion=csr(sp.vstack([self.expansion, expansion])),
            hashed=csr(sp.vstack([self.hashed, hash_words(analysed.words)])),
            anchors=self.item_anchors()
            + tuple(story_marks(item.title or "", item.text or "") for item in items),
        )

    def item_anchors(self) -> tuple[frozenset[str], ...]:
        """Every item's anchors (empty for items of a model pickled before anchors existed)."""
        found = getattr(self, "anchors", ())
        return found if len(found) == len(self.ids) else (frozenset(),) * len(self.ids)

    def _subset(self, keep: np.ndarray) -> CorpusModel:
        rows = np.flatnonzero(keep)
        ids = tuple(self.ids[i] for i in rows)
        return replace(
            self,
            cache={},
            ids=ids,
            index={item_id: i for i, item_id in enumerate(ids)},
            source_ids=tuple(self.source_ids[i] for i in rows),
            published=self.published[rows],
            gem_audience=tuple(self.gem_audience[i] for i in rows),
            matrix=self.matrix[rows],
            unit=self.unit[rows],
            similarity=self.similarity[rows],
            expansion=self.expansion[rows],
            hashed=self.hashed[rows],
            anchors=tuple(self.item_anchors()[i] for i in rows),
        )


def _counts(vectorizer: CountVectorizer, analysed: _Analysed, config: RankConfig) -> sp.csr_matrix:
    title = vectorizer.transform(analysed.title_terms)
    body = vectorizer.transform(analysed.body_terms)
    return csr(title * np.float32(config.title_weight) + body)


def _unique_last(items: Sequence[ItemText]) -> list[ItemText]:
    """``items`` with repeated ids reduced to their last occurrence (order of last kept)."""
    last = {item.id: item for item in items}
    return list(last.values())
