"""Text analysis for ranking: tokens, Snowball English stems, stop words and word pairs.

Everything here is deterministic and needs no downloads. Items and interest phrases go through
the same :func:`analyze`, so a declared interest "python testing" meets an article about
"tested Python code" on the stems ``python`` and ``test``. Bigrams are built from adjacent kept
stems (stop words removed first), so "Middle East" and "middle-east" both give ``middl east``.
:func:`display_words` maps a stem back to the most common surface word seen in the corpus so
explanations read as words, not stems.

The stemmer is the Snowball English ("Porter2") algorithm of ``snowballstemmer``, a maintained
library (pure Python; it uses the C ``PyStemmer`` by itself when that is installed, with the
same stems). It replaced a hand-written Porter-flavoured suffix stripper after measurement.
``bench/quality.py``, zero-shot nDCG@10 of our ranker (BM25 alongside):

    collection   hand-written   snowball english   snowball porter   BM25
    20ng         0.861          0.867              0.860             0.748
    bbc          0.817          0.835              0.836             0.712
    ag           0.564          0.527              0.532             0.445
    mean         0.747          0.743              0.743             0.635

A tie within noise: over 500 random halvings of the test items, the paired difference of the
mean (english − hand-written) had median −0.003 and 95% interval [−0.022, +0.016]; resampling
topics instead gave [−0.015, +0.009]. The digests as delivered scored 0.743 against 0.738. On a
tie the maintained library wins. English rather than the original Porter algorithm: it keeps
"news" and "hockey" whole, and Porter missed the day-2 feedback target on 20ng (+0.047).

Speed, ``bench/rank_speed.py`` (10k people × 5k items; median of 6 invocations, each the median
of 3 runs, interleaved with the hand-written stemmer on a busy 2-core machine): digests 3.6 s
(hand-written 4.1 s; target ≤ 5 s), 26× the naive loop (28×; target ≥ 20×), profiles 5.0 s
(5.3 s). Digests do not stem; the cost is in the batch fit, where a pure-Python stem takes
~35 µs against ~4 µs, i.e. ~5 s more for the bench window's 156k distinct words. So curation
also depends on PyStemmer (a C build of the same algorithm, identical stems on all 156k words,
~2 µs a word), which ``snowballstemmer`` picks up by itself; each distinct word is stemmed once
thanks to the cache.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_TOKEN = re.compile(r"[a-z][a-z0-9]*(?:['’][a-z]+)?")

# Reply/forward markers, web address parts and reporting verbs, on top of scikit-learn's list.
_EXTRA_STOP = frozenset(
    ["re", "fw", "fwd", "said", "says", "say", "just", "like", "know", "think"]
    + ["http", "https", "www", "com", "org", "net", "html", "htm"]
)
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | _EXTRA_STOP

_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a stemmer object keeps its state between calls


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Snowball English stem of ``word`` (lower case); what follows an apostrophe is dropped."""
    w = word.replace("’", "'").split("'", 1)[0]
    with _STEMMER_LOCK:
        return _STEMMER.stemWord(w)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` (letters first, then letters or digits)."""
    return _TOKEN.findall(text.lower())


def stems(
    text: str, *, use_stemmer: bool = True, forms: dict[str, dict[str, int]] | None = None
) -> list[str]:
    """Kept (non-stop-word, 2–30 letters) tokens of ``text``, stemmed.

    When ``forms`` is given, it counts which surface word produced each stem (see
    :func:`display_words`).
    """
    out = []
    for tok in tokens(text):
        if len(tok) < 2 or tok in STOP_WORDS or len(tok) > 30:
            continue
        word = tok.replace("’", "'").split("'", 1)[0]
        key = stem(tok) if use_stemmer else word
        out.append(key)
        if forms is not None:
            seen = forms.setdefault(key, {})
            seen[word] = seen.get(word, 0) + 1
    return out


def with_bigrams(words: list[str], bigrams: bool) -> list[str]:
    """``words`` followed by each adjacent pair joined by a space (when ``bigrams``)."""
    if not bigrams or len(words) < 2:
        return list(words)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a != b]


def analyze(text: str, *, use_stemmer: bool = True, bigrams: bool = True) -> list[str]:
    """The terms of ``text`` as the vectorizer sees them: stems, then stem pairs."""
    return with_bigrams(stems(text, use_stemmer=use_stemmer), bigrams)


def display_words(forms: dict[str, dict[str, int]]) -> dict[str, str]:
    """For each stem, its most frequent surface word (ties: the shorter word)."""
    return {
        key: min(seen.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0]
        for key, seen in forms.items()
    }


def display_term(term: str, words: dict[str, str]) -> str:
    """A vocabulary term (stem or stem pair) as readable words."""
    return " ".join(words.get(part, part) for part in term.split(" "))


_ANCHOR = re.compile(r"\b(?:\d[\d.,]*\d|\d|[A-Z][A-Za-z]+)\b")
ANCHOR_AGREEMENT = 0.6  # anchor Jaccard at or above which two similar items may be one story
TITLE_AGREEMENT = 0.34  # title-word Jaccard below which two items are two stories
_MIN_ANCHORS = 1  # items with fewer anchors than this are judged on their words alone


def anchors(title: str, text: str) -> frozenset[str]:
    """The names and numbers of an item: what must agree for two items to be the same story.

    Numbers anywhere, and capitalised words of the body that are not stop words; a title word
    counts only when the body also writes it capitalised (so a Title Case headline adds its
    names, not its every word). "Union Pacific raises crude oil postings" and "Sun Co raises
    crude oil postings" share a template and words, but not these."""
    body = {m for m in _ANCHOR.findall(text or "") if m.lower() not in STOP_WORDS}
    numbers = {m for m in _ANCHOR.findall(title or "") if m[0].isdigit()}
    titled = {m for m in _ANCHOR.findall(title or "") if m in body}
    return frozenset(w.lower().rstrip(".,") for w in body | numbers | titled)


def story_marks(title: str, text: str) -> frozenset[str]:
    """What :func:`same_story` compares: the item's anchors, and its title's stems (``t:``)."""
    return anchors(title, text) | frozenset("t:" + w for w in stems(title or ""))


def same_story(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two similar items' marks allow them to be one story.

    Their titles share at least ``TITLE_AGREEMENT`` of their words (Jaccard), the numbers of
    one occur in the other (when both have numbers), and their anchors
    overlap by at least ``ANCHOR_AGREEMENT`` or one item's anchors all occur in the other (a
    shorter excerpt of the same report); items with too few anchors to tell are judged on the
    titles alone."""
    ta, tb = {w for w in a if w.startswith("t:")}, {w for w in b if w.startswith("t:")}
    if ta and tb and len(ta & tb) < TITLE_AGREEMENT * len(ta | tb):
        return False
    a, b = a - ta, b - tb
    na, nb = {w for w in a if w[0].isdigit()}, {w for w in b if w[0].isdigit()}
    if na and nb and not (na <= nb or nb <= na):  # numbers of one report all in the other
        return False
    if len(a) < _MIN_ANCHORS or len(b) < _MIN_ANCHORS:
        return True
    shared = len(a & b)
    return shared >= ANCHOR_AGREEMENT * len(a | b) or shared == min(len(a), len(b))
