"""Ranking speed: every digest for 10,000 people × 5,000 new items, against a naive loop.

The corpus is the real text of ../shared/data/ranking/ (20 Newsgroups, BBC, AG News mixed).
5,000 items are held out as "new" (published over the last 48 hours, 200 sources); the model is
fitted on the rest (the window) and the new items are added with ``add_items`` (no refit).
People get 1–5 interests drawn from the fitted vocabulary (single words by document frequency,
a third of them two-word phrases; never the words in more than ``max_df`` of the window), a fifth have a mute word and a fifth have five feedback
signals; 1% of the new items are curator gems for a random interest.

Timed, each --runs times (median reported):
  * profiles: ``build_profiles`` for everyone (done once per model refit or profile change);
  * digests: ``rank_all`` for everyone with those profiles — the daily hot path;
  * naive: the same digests computed one person at a time (matrix-vector scoring, Python
    dedupe/MMR/explanations per person), and the same profiles built one person at a time
    (no phrase shared between people), on --naive-people people, scaled to everyone.
Peak memory: the process's peak resident set (VmHWM) reset before, and read after, each step.

    python bench/rank_speed.py --runs 3
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ is first on sys.path and its modules could shadow the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import make_parser  # noqa: E402
from curation.rank import CorpusModel, ItemText, PersonQuery, RankConfig, build_profiles, rank_all  # noqa: E402
from curation.rank.explain import MIN_SHARE  # noqa: E402
from curation.rank.profile import FEEDBACK_OWNER, Profiles  # noqa: E402
from curation.rank.types import Ranked  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "ranking"
FILES = ("20newsgroups_bydate.jsonl", "bbc_news.jsonl", "ag_news_test.jsonl")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def memory_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def load_items(n_new: int, seed: int) -> tuple[list[ItemText], list[ItemText]]:
    rows = []
    for name in FILES:
        with (DATA / name).open(encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    new_idx, old_idx = order[:n_new], order[n_new:]

    def source(doc_id: str) -> str:
        return f"source-{int(hashlib.md5(doc_id.encode()).hexdigest(), 16) % 200}"

    window = [
        ItemText(
            str(rows[i]["id"]),
            rows[i]["title"],
            rows[i]["body"],
            source(rows[i]["id"]),
            NOW - timedelta(days=3 + k % 11),
        )
        for k, i in enumerate(old_idx)
    ]
    ages = rng.uniform(0, 48, len(new_idx))
    new = [
        ItemText(
            "new:" + str(rows[i]["id"]),
            rows[i]["title"],
            rows[i]["body"],
            source(rows[i]["id"]),
            NOW - timedelta(hours=float(a)),
        )
        for i, a in zip(new_idx, ages, strict=True)
    ]
    return window, new


def make_people(model: CorpusModel, n: int, seed: int) -> list[PersonQuery]:
    rng = np.random.default_rng(seed)
    df = np.bincount(model.matrix.indices, minlength=len(model.terms)).astype(np.float64)
    # the same population as when max_df pruned the vocabulary: words in more than max_df of the
    # window (now kept, for matching) are not drawn, or a draw by df would mostly pick them
    usable = (df >= 5) & ~model.common if model.common is not None else df >= 5
    single = np.flatnonzero(~model.is_pair & usable)
    pair = np.flatnonzero(model.is_pair & usable)
    p_single = df[single] / df[single].sum()
    p_pair = df[pair] / df[pair].sum()
    ids = model.ids
    people = []
    for k in range(n):
        interests = []
        for _ in range(int(rng.integers(1, 6))):
            col = (
                rng.choice(pair, p=p_pair)
                if rng.random() < 1 / 3
                else rng.choice(single, p=p_single)
            )
            interests.append((model.readable(int(col)), float(rng.uniform(0.5, 1.0))))
        mutes = (model.readable(int(rng.choice(single, p=p_single))),) if rng.random() < 0.2 else ()
        feedback = ()
        if rng.random() < 0.2:
            feedback = tuple(
                (ids[int(j)], int(rng.choice([1, -1])))
                for j in rng.choice(len(ids), 5, replace=False)
            )
        audiences = tuple(" ".join(p.lower().split()) for p, _ in interests)
        people.append(PersonQuery(f"person-{k}", tuple(interests), mutes, feedback, audiences))
    return people


def add_gems(new: list[ItemText], people: list[PersonQuery], seed: int) -> list[ItemText]:
    rng = np.random.default_rng(seed)
    out = []
    for item in new:
        if rng.random() < 0.01:
            person = people[int(rng.integers(len(people)))]
            item = ItemText(
                item.id,
                item.title,
                item.text,
                item.source_id,
                item.published_at,
                (person.audiences[0],),
            )
        out.append(item)
    return out


# ---------------------------------------------------------------- the naive per-person loop
def naive_digests(
    model: CorpusModel,
    profiles: Profiles,
    ids: list[str],
    config: RankConfig,
    limit: int,
    people: range,
) -> dict[str, list[Ranked]]:
    """The same digests computed one person at a time, as one would first write it: item-side
    arrays prepared once, then per person a matrix-vector product, NumPy filters, and Python
    dedupe / MMR / explanation over that person's candidates."""
    rows = model.rows(ids)
    matrix = model.matrix[rows]
    similar = model.similarity[rows]
    hashed = model.hashed[rows]
    age = np.nan_to_num(np.maximum(0.0, (NOW.timestamp() - model.published[rows]) / 3600.0))
    decay = 0.5 ** (age / config.recency_half_life_hours)
    sources = [model.source_ids[r] for r in rows]
    position = {item_id: i for i, item_id in enumerate(ids)}
    gems = [(i, model.gem_audience[r]) for i, r in enumerate(rows) if model.gem_audience[r]]
    out: dict[str, list[Ranked]] = {}
    for p in people:
        vector = profiles.vectors[p]
        scores = (matrix @ vector.T).toarray().ravel() * decay
        for i, audience in gems:
            if "*" in audience or profiles.audiences[p].intersection(audience):
                scores[i] *= 1.0 + config.gem_boost
        for m in profiles.mutes[p].indices:
            hits = (hashed @ profiles.mute_words[m].T).toarray().ravel()
            scores[hits >= 1.0 - 1e-4] = -np.inf
        for item_id in profiles.judged[p]:
            if item_id in position:
                scores[position[item_id]] = -np.inf
        scores[~(scores >= config.min_relevance)] = -np.inf
        top = np.argsort(-scores)[: limit * config.candidate_factor]
        cands = [int(i) for i in top if np.isfinite(scores[i])]
        sims = (similar[cands] @ similar[cands].T).toarray() if cands else np.zeros((0, 0))
        kept: list[int] = []  # positions in cands
        also: dict[int, list[int]] = {}
        for a in range(len(cands)):  # collapse near-duplicates into the best-scoring one
            dup = next((k for k in kept if sims[a, k] >= config.duplicate_similarity - 1e-6), None)
            if dup is None:
                kept.append(a)
            else:
                also.setdefault(dup, []).append(a)
        picked: list[int] = []
        per_source: dict[str, int] = {}
        while len(picked) < limit:
            best, best_value = None, -np.inf
            for a in kept:
                if a in picked or per_source.get(sources[cands[a]], 0) >= config.per_source_cap > 0:
                    continue
                max_sim = max((sims[a, b] for b in picked), default=0.0)
                value = (
                    config.diversity_lambda * scores[cands[a]]
                    - (1 - config.diversity_lambda) * max_sim
                )
                if value > best_value:
                    best, best_value = a, value
            if best is None:
                break
            picked.append(best)
            per_source[sources[cands[best]]] = per_source.get(sources[cands[best]], 0) + 1
        entries = []
        lo, hi = profiles.vectors.indptr[p], profiles.vectors.indptr[p + 1]
        owner_of = dict(
            zip(
                profiles.vectors.indices[lo:hi].tolist(),
                profiles.owners[lo:hi].tolist(),
                strict=True,
            )
        )
        for a in picked:
            i = cands[a]
            contrib = vector.multiply(matrix[i]).tocoo()
            terms = sorted(
                zip(contrib.data.tolist(), contrib.col.tolist(), strict=True), reverse=True
            )[:8]
            totals: dict[int, float] = {}
            for value, col in terms:
                if value > 0:
                    totals[owner_of[col]] = totals.get(owner_of[col], 0.0) + value
            total = sum(totals.values()) or 1.0
            named = [
                o
                for o, v in sorted(totals.items(), key=lambda kv: -kv[1])
                if v >= MIN_SHARE * total
            ]
            interests = tuple(profiles.interests[p][o] for o in named if o != FEEDBACK_OWNER)
            words = tuple(model.readable(int(c)) for _, c in terms[:3])
            why = f"Matches your interest {', '.join(interests)} ({', '.join(words)})."
            also_ids = tuple(ids[cands[b]] for b in also.get(a, []))
            entries.append(Ranked(ids[i], float(scores[i]), why, interests, words, also_ids))
        out[profiles.person_ids[p]] = entries
    return out


def naive_profiles(model: CorpusModel, people: list[PersonQuery], config: RankConfig) -> None:
    """Profiles one person at a time (no sharing of phrases between people)."""
    for person in people:
        build_profiles(model, [person], config)


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    reset_peak()
    base = memory_kib("VmRSS")
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    elapsed = time.perf_counter() - t0
    return value, elapsed, (memory_kib("VmHWM") - base) / 1024, memory_kib("VmHWM") / 1024


def main() -> None:
    parser = make_parser(__doc__, people=10_000, items=5_000, limit=10, seed=0)
    parser.add_argument(
        "--naive-people", type=int, default=500, help="people timed in the naive loop"
    )
    args = parser.parse_args()
    config = RankConfig()
    print(
        f"{os.cpu_count()} CPUs; {args.people} people × {args.items} new items, limit {args.limit}"
    )

    window, new = load_items(args.items, args.seed)
    t0 = time.perf_counter()
    model = CorpusModel.fit(window, config)
    print(
        f"fit on the window: {len(window)} items, {len(model.terms)} terms, {time.perf_counter() - t0:.1f}s"
    )
    people = make_people(model, args.people, args.seed)
    new = add_gems(new, people, args.seed)
    model, add_s, _, _ = timed(model.add_items, new)
    print(f"add_items: {len(new)} new items transformed with the fitted vocabulary in {add_s:.1f}s")
    new_ids = [item.id for item in new]
    n_interests = sum(len(p.interests) for p in people)
    distinct = len({" ".join(ph.casefold().split()) for p in people for ph, _ in p.interests})
    print(
        f"people: {n_interests} interests ({distinct} distinct phrases), window now {len(model)} items"
    )

    prof_t, rank_t, naive_t, naive_prof_t, rank_mem, prof_mem, peak = [], [], [], [], [], [], []
    sample = range(min(args.naive_people, len(people)))
    scale = len(people) / len(sample)
    for run in range(args.runs):
        profiles, s, extra, top = timed(build_profiles, model, people, config)
        prof_t.append(s)
        prof_mem.append(extra)
        digests, s, extra, top = timed(
            rank_all, model, people, NOW, config, args.limit, profiles=profiles, item_ids=new_ids
        )
        rank_t.append(s)
        rank_mem.append(extra)
        peak.append(top)
        naive, s, _, _ = timed(naive_digests, model, profiles, new_ids, config, args.limit, sample)
        naive_t.append(s * scale)
        _, s, _, _ = timed(naive_profiles, model, [people[k] for k in sample], config)
        naive_prof_t.append(s * scale)
        same = np.mean(
            [
                len(
                    {r.item_id for r in naive[people[k].id]}
                    & {r.item_id for r in digests[people[k].id]}
                )
                / max(1, len(digests[people[k].id]), len(naive[people[k].id]))
                for k in sample
            ]
        )
        sizes = [len(v) for v in digests.values()]
        print(
            f"run {run + 1}: profiles {prof_t[-1]:.2f}s, digests {rank_t[-1]:.2f}s | naive (scaled from "
            f"{len(sample)} people) digests {naive_t[-1]:.1f}s, profiles {naive_prof_t[-1]:.1f}s | "
            f"same entries as naive {same:.1%}; entries per digest {np.mean(sizes):.1f}, "
            f"empty digests {sum(x == 0 for x in sizes)}"
        )
    med = statistics.median
    batch, naive_d = med(rank_t), med(naive_t)
    both, naive_both = med(prof_t) + med(rank_t), med(naive_prof_t) + med(naive_t)
    print(f"\nmedian of {args.runs} runs ({args.people} people × {args.items} new items):")
    print(f"  digests, rank_all with profiles from the batch step: {batch:6.2f}s (target <= 5 s)")
    print(
        f"    naive per-person loop, same profiles:              {naive_d:6.1f}s -> {naive_d / batch:.0f}× (target >= 20×)"
    )
    print(f"  profiles, build_profiles for everyone:               {med(prof_t):6.2f}s")
    print(f"  end to end, profiles + digests:                      {both:6.2f}s")
    print(
        f"    naive, per-person profiles + per-person digests:   {naive_both:6.1f}s -> {naive_both / both:.0f}×"
    )
    print(
        f"  peak memory: +{med(rank_mem):.0f} MiB during digests, +{med(prof_mem):.0f} MiB during "
        f"profiles; process peak {max(peak):.0f} MiB (model and data included)"
    )


if __name__ == "__main__":
    main()
