"""Ranking quality on labelled collections: our ranker against BM25 and plain TF-IDF cosine.

For each collection in ../shared/data/ranking/ (20 Newsgroups, BBC News, AG News), every topic
becomes a person whose only declared interest is the topic's readable name. The corpus model is
fitted on all of the collection's text (train + test, no labels: "the recent window"); the test
split is ranked per topic and scored with MAP, P@10 and nDCG@10, macro-averaged over topics.
Peers, in the same run: BM25 (rank-bm25, BM25Okapi over the test split) and plain TF-IDF cosine
(scikit-learn TfidfVectorizer with English stop words, fitted on the same text as ours).

Feedback: the test items are split at random into day 1 and day 2; each topic-person reads their
day-1 digest (top 10 via rank_all) and marks each entry useful or not useful according to the
labels; we report day-2 nDCG@10 of that person against a twin without feedback (median over
--seeds random splits).

20 Newsgroups' group names become readable phrases through a fixed table of the obvious human
names (below, written once, not tuned on scores); BBC and AG topic names are used as they are
("Sci/Tech" reads "sci tech"). The same RankConfig (defaults) serves every collection.

    pip install -e '.[bench]'
    python bench/quality.py                       # all collections
    python bench/quality.py --collections bbc --verbose
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ is first on sys.path and its modules could shadow the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from rank_bm25 import BM25Okapi  # noqa: E402
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer  # noqa: E402

from curation.rank import (  # noqa: E402
    CorpusModel,
    ItemText,
    PersonQuery,
    RankConfig,
    build_profiles,
    rank_all,
    relevance,
)

DATA = ROOT.parent / "shared" / "data" / "ranking"
COLLECTIONS = {
    "20ng": "20newsgroups_bydate.jsonl",
    "bbc": "bbc_news.jsonl",
    "ag": "ag_news_test.jsonl",
}
# The obvious human name of each newsgroup (a fixed table, not tuned on any score).
NEWSGROUP_NAMES = {
    "alt.atheism": "atheism",
    "comp.graphics": "computer graphics",
    "comp.os.ms-windows.misc": "microsoft windows",
    "comp.sys.ibm.pc.hardware": "ibm pc hardware",
    "comp.sys.mac.hardware": "mac hardware",
    "comp.windows.x": "x window system",
    "misc.forsale": "for sale",
    "rec.autos": "cars",
    "rec.motorcycles": "motorcycles",
    "rec.sport.baseball": "baseball",
    "rec.sport.hockey": "hockey",
    "sci.crypt": "cryptography",
    "sci.electronics": "electronics",
    "sci.med": "medicine",
    "sci.space": "space",
    "soc.religion.christian": "christianity",
    "talk.politics.guns": "guns",
    "talk.politics.mideast": "middle east politics",
    "talk.politics.misc": "politics",
    "talk.religion.misc": "religion",
}
NOW = datetime(2024, 1, 1, tzinfo=UTC)
_WORD = re.compile(r"\w+")


@dataclass
class Doc:
    id: str
    split: str
    title: str
    body: str
    topics: tuple[str, ...]


def load(name: str) -> list[Doc]:
    with (DATA / COLLECTIONS[name]).open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [
        Doc(
            r["id"],
            r.get("split", "test"),
            r.get("title") or "",
            r.get("body") or "",
            tuple(r["topics"]),
        )
        for r in rows
    ]


def readable(collection: str, topic: str) -> str:
    if collection == "20ng":
        return NEWSGROUP_NAMES[topic]
    return topic.replace("/", " ").lower()


def source_of(doc_id: str) -> str:
    """A stable pseudo-source (25 of them), independent of the labels."""
    return f"source-{int(hashlib.md5(doc_id.encode()).hexdigest(), 16) % 25}"


# ---------------------------------------------------------------- metrics
def metrics(scores: np.ndarray, relevant: np.ndarray) -> tuple[float, float, float]:
    """(average precision, P@10, nDCG@10) of ranking by ``scores`` (binary relevance)."""
    order = np.argsort(-scores, kind="stable")
    rel = relevant[order]
    n_rel = int(rel.sum())
    if n_rel == 0:
        return 0.0, 0.0, 0.0
    hits = np.cumsum(rel)
    ap = float((hits[rel] / (np.flatnonzero(rel) + 1)).sum() / n_rel)
    p10 = float(rel[:10].mean())
    disc = 1.0 / np.log2(np.arange(2, 12))
    dcg = float((rel[:10] * disc[: len(rel[:10])]).sum())
    idcg = float(disc[: min(10, n_rel)].sum())
    return ap, p10, dcg / idcg


def ndcg_of_list(ranked_ids: list[str], relevant: set[str], n_relevant: int) -> float:
    disc = 1.0 / np.log2(np.arange(2, 12))
    dcg = sum(disc[i] for i, item_id in enumerate(ranked_ids[:10]) if item_id in relevant)
    idcg = float(disc[: min(10, n_relevant)].sum())
    return dcg / idcg if idcg else 0.0


# ---------------------------------------------------------------- peers
def simple_tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


def bm25_scores(test: list[Doc], queries: list[str]) -> list[np.ndarray]:
    bm25 = BM25Okapi([simple_tokens(d.title + "\n" + d.body) for d in test])
    return [np.asarray(bm25.get_scores(simple_tokens(q)), dtype=np.float64) for q in queries]


def tfidf_scores(docs: list[Doc], test: list[Doc], queries: list[str]) -> list[np.ndarray]:
    vec = TfidfVectorizer(stop_words="english").fit(d.title + "\n" + d.body for d in docs)
    matrix = vec.transform(d.title + "\n" + d.body for d in test)
    return [(matrix @ vec.transform([q]).T).toarray().ravel() for q in queries]


# ---------------------------------------------------------------- one collection
def evaluate(name: str, config: RankConfig, seeds: int, verbose: bool) -> dict:
    docs = load(name)
    test = [d for d in docs if d.split == "test"]
    topics = sorted({t for d in docs for t in d.topics})
    queries = [readable(name, t) for t in topics]
    relevant = [np.array([t in d.topics for d in test]) for t in topics]
    test_ids = [d.id for d in test]

    t0 = time.perf_counter()
    model = CorpusModel.fit(
        [ItemText(d.id, d.title, d.body, source_of(d.id), None) for d in docs], config
    )
    fit_s = time.perf_counter() - t0
    people = [PersonQuery(f"topic:{t}", ((q, 1.0),)) for t, q in zip(topics, queries, strict=True)]
    t0 = time.perf_counter()
    profiles = build_profiles(model, people, config)
    ours = relevance(model, profiles, test_ids)
    ours_s = time.perf_counter() - t0
    digests = rank_all(model, people, NOW, config, limit=10, profiles=profiles, item_ids=test_ids)

    t0 = time.perf_counter()
    bm25 = bm25_scores(test, queries)
    bm25_s = time.perf_counter() - t0
    tfidf = tfidf_scores(docs, test, queries)

    table = {
        "ours": [metrics(ours[i], relevant[i]) for i in range(len(topics))],
        "bm25": [metrics(bm25[i], relevant[i]) for i in range(len(topics))],
        "tfidf": [metrics(tfidf[i], relevant[i]) for i in range(len(topics))],
    }
    digest_ndcg = [
        ndcg_of_list(
            [r.item_id for r in digests[p.id]],
            {d.id for d, rel in zip(test, relevant[i], strict=True) if rel},
            int(relevant[i].sum()),
        )
        for i, p in enumerate(people)
    ]
    feedback = [
        simulate_feedback(model, config, test, topics, queries, relevant, seed, verbose)
        for seed in range(seeds)
    ]
    result = {
        "collection": name,
        "topics": len(topics),
        "test_items": len(test),
        "window_items": len(docs),
        "vocabulary": len(model.terms),
        "fit_s": fit_s,
        "ours_rank_s": ours_s,
        "bm25_rank_s": bm25_s,
        "macro": {k: tuple(float(x) for x in np.mean(v, axis=0)) for k, v in table.items()},
        "digest_ndcg10": float(np.mean(digest_ndcg)),
        "feedback": feedback,
    }
    if verbose:
        print(f"\n{name}: per-topic nDCG@10 (ours / bm25 / tfidf)")
        for i, t in enumerate(topics):
            print(
                f"  {t:28s} {queries[i]!r:24s} {table['ours'][i][2]:.3f} "
                f"{table['bm25'][i][2]:.3f} {table['tfidf'][i][2]:.3f}"
            )
    return result


def simulate_feedback(
    model: CorpusModel,
    config: RankConfig,
    test: list[Doc],
    topics: list[str],
    queries: list[str],
    relevant: list[np.ndarray],
    seed: int,
    verbose: bool = False,
) -> tuple[float, float]:
    """(day-2 nDCG@10 with day-1 feedback, same for the twin without), macro over topics."""
    rng = np.random.default_rng(seed)
    day1_mask = rng.random(len(test)) < 0.5
    day1 = [d.id for d, m in zip(test, day1_mask, strict=True) if m]
    day2_idx = np.flatnonzero(~day1_mask)
    day2 = [test[i].id for i in day2_idx]
    twins = [PersonQuery(f"twin:{t}", ((q, 1.0),)) for t, q in zip(topics, queries, strict=True)]
    read = rank_all(model, twins, NOW, config, limit=10, item_ids=day1)
    label = {d.id: d.topics for d in test}
    judged = [
        PersonQuery(
            f"reader:{t}",
            ((q, 1.0),),
            feedback=tuple((r.item_id, 1 if t in label[r.item_id] else -1) for r in read[twin.id]),
        )
        for t, q, twin in zip(topics, queries, twins, strict=True)
    ]
    with_fb = relevance(model, build_profiles(model, judged, config), day2)
    without = relevance(model, build_profiles(model, twins, config), day2)
    a = [metrics(with_fb[i], relevant[i][day2_idx])[2] for i in range(len(topics))]
    b = [metrics(without[i], relevant[i][day2_idx])[2] for i in range(len(topics))]
    if verbose:
        print(f"  split {seed}: topic, day-1 useful/marked, day-2 nDCG@10 with / without feedback")
        for i, t in enumerate(topics):
            marks = [s for _, s in judged[i].feedback]
            print(f"    {t:28s} {marks.count(1)}/{len(marks)}  {a[i]:.3f} / {b[i]:.3f}")
    return float(np.mean(a)), float(np.mean(b))


def _override(item: str) -> tuple[str, object]:
    name, _, raw = item.partition("=")
    default = getattr(RankConfig(), name)
    if isinstance(default, bool):
        return name, raw.lower() in ("1", "true", "yes")
    if default is None or isinstance(default, int):
        return name, int(raw)
    return name, type(default)(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collections", default="20ng,bbc,ag")
    parser.add_argument("--seeds", type=int, default=3, help="random day-1/day-2 splits")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a RankConfig field (exploration only)",
    )
    args = parser.parse_args()
    config = RankConfig(**dict(_override(item) for item in args.set))
    print("Readable names: 20 Newsgroups via a fixed table of obvious human names (not tuned);")
    print("BBC/AG topic names as given. One RankConfig (defaults) for every collection.")
    results = []
    ok = True
    for name in args.collections.split(","):
        r = evaluate(name, config, args.seeds, args.verbose)
        results.append(r)
        m = r["macro"]
        print(
            f"\n== {name}: {r['topics']} topics, {r['test_items']} test items ranked, window "
            f"{r['window_items']} items, vocabulary {r['vocabulary']}, fit {r['fit_s']:.1f}s"
        )
        print(f"  {'ranker':8s} {'MAP':>6s} {'P@10':>6s} {'nDCG@10':>8s}")
        for key in ("ours", "bm25", "tfidf"):
            print(f"  {key:8s} {m[key][0]:6.3f} {m[key][1]:6.3f} {m[key][2]:8.3f}")
        print(
            f"  ours, digest as delivered (dedupe, MMR, source cap, floor): nDCG@10 {r['digest_ndcg10']:.3f}"
        )
        gain = m["ours"][2] - m["bm25"][2]
        fb = sorted(r["feedback"], key=lambda x: x[0] - x[1])[len(r["feedback"]) // 2]
        fb_gain = fb[0] - fb[1]
        print(
            f"  zero-shot nDCG@10 vs BM25: {gain:+.3f} (target >= +0.05) {'OK' if gain >= 0.05 else 'MISS'}"
        )
        print(
            f"  day-2 nDCG@10 with day-1 feedback {fb[0]:.3f} vs twin {fb[1]:.3f}: {fb_gain:+.3f} "
            f"(median of {len(r['feedback'])} splits; target >= +0.05) {'OK' if fb_gain >= 0.05 else 'MISS'}"
        )
        print("    per split: " + ", ".join(f"{a:.3f}/{b:.3f}" for a, b in r["feedback"]))
        ok &= gain >= 0.05 and fb_gain >= 0.05
    gains = [r["macro"]["ours"][2] - r["macro"]["bm25"][2] for r in results]
    print(f"\nall targets met: {ok}; nDCG@10 gain over BM25 median {statistics.median(gains):+.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
