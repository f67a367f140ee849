"""Text analysis for ranking: tokens, a small suffix stripper, stop words and word pairs.

Everything here is deterministic and needs no downloads. Items and interest phrases go through
the same :func:`analyze`, so a declared interest "python testing" meets an article about
"tested Python code" on the stems ``python`` and ``test``. Bigrams are built from adjacent kept
stems (stop words removed first), so "Middle East" and "middle-east" both give ``middl east``.

The stemmer is a light, Porter-flavoured suffix stripper written for this module: plurals,
``-ed``/``-ing``, a handful of derivational endings (``-ation``, ``-ity``, ``-ism``/``-ist``,
``-ical``, ``-ly``…) and a final ``-e``. It does not aim to be linguistically exact, only to send
the usual inflections of a word to one stem. :func:`display_words` maps a stem back to the most
common surface word seen in the corpus so explanations read as words, not stems.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_TOKEN = re.compile(r"[a-z][a-z0-9]*(?:['’][a-z]+)?")
_VOWELS = frozenset("aeiouy")

# Reply/forward markers, web address parts and reporting verbs, on top of scikit-learn's list.
_EXTRA_STOP = frozenset(
    ["re", "fw", "fwd", "said", "says", "say", "just", "like", "know", "think"]
    + ["http", "https", "www", "com", "org", "net", "html", "htm"]
)
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | _EXTRA_STOP

# (suffix, replacement) tried longest first on stems of at least 3 letters after replacement.
_DERIVATIONAL: tuple[tuple[str, str], ...] = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("tional", "tion"),
    ("biliti", "ble"),
    ("ation", "ate"),
    ("alism", "al"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("ement", ""),
    ("graphi", "graph"),
    ("ness", ""),
    ("ment", ""),
    ("ical", "ic"),
    ("ator", "ate"),
    ("ism", ""),
    ("ist", ""),
    ("iti", ""),
    ("ful", ""),
    ("ous", ""),
    ("ive", ""),
    ("li", ""),
)
_UNDOUBLE_KEEP = frozenset("lsz")
_KEEP_WORDS = frozenset({"news", "series", "species", "physics", "always", "perhaps"})


def _has_vowel(stem: str) -> bool:
    return any(ch in _VOWELS for ch in stem)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Reduce ``word`` (lower case) to its stem; short words are returned unchanged."""
    w = word.replace("’", "'")
    if "'" in w:
        w = w.split("'", 1)[0]
    if len(w) <= 3 or w in _KEEP_WORDS:
        return w
    # plurals
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "i"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    # -ed / -ing
    for suffix in ("ing", "ed"):
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= 3 and _has_vowel(base):
                if (
                    len(base) >= 4
                    and base[-1] == base[-2]
                    and base[-1] not in _UNDOUBLE_KEEP | _VOWELS
                ):
                    base = base[:-1]
                w = base
            break
    # y -> i after a consonant, so "company" and "companies" meet
    if len(w) > 3 and w.endswith("y") and w[-2] not in _VOWELS:
        w = w[:-1] + "i"
    for suffix, repl in _DERIVATIONAL:
        if w.endswith(suffix):
            root = w[: -len(suffix)]
            if len(root) >= 3 and _has_vowel(root):
                w = root + repl
            break
    if len(w) > 6 and w.endswith("ic"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


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
