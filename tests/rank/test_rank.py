"""The ranking core on small hand-checkable corpora: text analysis, the corpus model, profiles,
scoring, mutes, decay, dedupe, source cap, diversity, explanations, feedback and gems."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from curation.rank import (
    CorpusModel,
    ItemText,
    PersonQuery,
    RankConfig,
    build_profiles,
    phrase_vectors,
    rank_all,
    relevance,
)
from curation.rank.sparse import top_per_row
from curation.rank.text import analyze, stem

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# tiny corpora: keep every term, small pools, no floor unless a test sets one
CFG = RankConfig(
    min_df=1,
    max_df=1.0,
    expansion_docs=3,
    expansion_terms=5,
    min_relevance=0.05,
    per_source_cap=0,
    diversity_lambda=1.0,
)


def item(
    i: str, title: str, text: str, source: str = "s1", hours_ago: float = 0.0, gem=()
) -> ItemText:
    return ItemText(i, title, text, source, NOW - timedelta(hours=hours_ago), tuple(gem))


CORPUS = [
    item(
        "h1",
        "Hockey playoffs open",
        "The NHL playoffs open tonight; the goalie stopped every puck.",
        "s1",
    ),
    item(
        "h2",
        "Hockey trade deadline",
        "NHL teams trade a goalie and a winger before the deadline.",
        "s2",
    ),
    item(
        "h3",
        "Hockey arena news",
        "Fans pack the arena as the NHL season heats up, puck drops at seven.",
        "s3",
    ),
    item(
        "n1",
        "Goalie signs new deal",
        "The NHL goalie signed a new contract; the puck stops here, he said.",
        "s4",
    ),
    item(
        "p1",
        "Rocket launch delayed",
        "NASA delays the rocket launch to the space station because of weather.",
        "s1",
    ),
    item(
        "p2",
        "Space telescope images",
        "The space telescope sent images of distant galaxies to NASA.",
        "s2",
    ),
    item(
        "m1",
        "Stock markets fall",
        "Shares fell sharply as bond markets priced in higher rates.",
        "s3",
    ),
    item(
        "m2",
        "Central bank holds rates",
        "The central bank kept interest rates unchanged; markets rallied.",
        "s4",
    ),
]


def ids(entries) -> list[str]:
    return [e.item_id for e in entries]


@pytest.fixture(scope="module")
def model() -> CorpusModel:
    return CorpusModel.fit(CORPUS, CFG)


# ---------------------------------------------------------------- text
def test_stemmer_sends_inflections_to_one_stem() -> None:
    assert stem("testing") == stem("tested") == stem("tests") == stem("test")
    assert stem("playing") == stem("played") == stem("plays") == stem("play")
    assert stem("cars") == stem("car")  # plurals
    assert stem("classes") == stem("class")
    assert stem("companies") == stem("company")
    assert stem("christianity") == stem("christian")
    assert stem("company's") == stem("company’s") == stem("company")  # either apostrophe


def test_stemmer_keeps_different_words_apart() -> None:
    assert stem("news") != stem("new")  # not the plural of "new"
    assert stem("hockey") == "hockey"  # nothing to strip: the word stays whole


def test_analyze_drops_stop_words_and_adds_pairs() -> None:
    middle = stem("middle")
    assert analyze("The Middle East and the news") == [
        middle,
        "east",
        "news",
        f"{middle} east",
        "east news",
    ]
    assert analyze("middle-east", bigrams=False) == [middle, "east"]
    assert analyze("middle-east") == analyze("Middle East")


def test_phrases_and_items_go_through_one_analysis() -> None:
    items = [
        item("t1", "Tested Python code", "Unit tests for the parser.", "s1"),
        item("z1", "Rocket launch", "NASA delays the launch.", "s2"),
    ]
    config = replace(CFG, expansion_terms=0)
    small = CorpusModel.fit(items, config)
    assert set(analyze("Python testing", bigrams=False)) <= set(small.vectorizer.vocabulary_)
    person = PersonQuery("a", (("Python testing", 1.0),))
    row = relevance(small, build_profiles(small, [person], config))[0]
    scores = dict(zip(small.ids, row, strict=True))
    assert scores["t1"] > 0.0 and scores["z1"] == 0.0


# ---------------------------------------------------------------- corpus model
def test_fit_weights_titles_above_bodies(model: CorpusModel) -> None:
    config = replace(CFG, title_weight=1.0)
    flat = CorpusModel.fit(CORPUS, config)
    col = model.vectorizer.vocabulary_["rocket"]
    row = model.index["p1"]  # "rocket" once in the title, once in the body
    assert model.matrix[row, col] > flat.matrix[row, col] > 0


def test_add_items_reuses_the_fitted_vocabulary(model: CorpusModel) -> None:
    copy = item("h1-copy", CORPUS[0].title, CORPUS[0].text, "s9")
    novel = item("x1", "Zorblax unveiled", "A zorblax is a new gadget nobody has heard of.", "s9")
    grown = model.add_items([copy, novel])
    assert len(grown.terms) == len(model.terms)  # no refit: same vocabulary, same weights
    assert np.array_equal(grown.idf, model.idf)
    assert "zorblax" not in grown.vectorizer.vocabulary_
    original, added = grown.matrix[grown.index["h1"]], grown.matrix[grown.index["h1-copy"]]
    assert abs(original - added).sum() == pytest.approx(0.0)
    assert len(grown) == len(model) + 2 and grown.added_count == 2 and not grown.needs_refit
    assert grown.add_items([replace(c, id=f"z{i}") for i, c in enumerate(CORPUS)]).needs_refit


def test_add_items_replaces_an_item_with_the_same_id(model: CorpusModel) -> None:
    updated = model.add_items([item("m1", "Markets and rates", "Shares and rates.", "s3")])
    assert len(updated) == len(model)
    assert updated.ids.count("m1") == 1
    vocab = updated.vectorizer.vocabulary_
    before, after = model.matrix[model.index["m1"]], updated.matrix[updated.index["m1"]]
    assert before[0, vocab["bond"]] > 0 and after[0, vocab["bond"]] == 0
    assert after[0, vocab["rate"]] > 0


def test_since_drops_items_that_left_the_window(model: CorpusModel) -> None:
    old = model.add_items([item("old", "Hockey history", "Old NHL story", hours_ago=24 * 30)])
    assert "old" in old.index
    assert "old" not in old.since(NOW - timedelta(days=14)).index


def test_top_per_row_keeps_the_largest_entries() -> None:
    import scipy.sparse as sp

    m = sp.csr_matrix(np.array([[1.0, 5.0, 3.0, 0.0], [0.0, 0.0, 2.0, 0.0]], dtype=np.float32))
    assert top_per_row(m, 2).toarray().tolist() == [[0.0, 5.0, 3.0, 0.0], [0.0, 0.0, 2.0, 0.0]]


# ---------------------------------------------------------------- profiles and scoring
def test_expansion_adds_corpus_words_to_a_short_phrase(model: CorpusModel) -> None:
    config = replace(CFG, expansion_terms=10)
    vectors = phrase_vectors(model, ["hockey"], config)
    added = {model.terms[c] for c in vectors.expanded.indices} - {
        model.terms[c] for c in vectors.query.indices
    }
    assert {"nhl", "goali"} <= added
    assert not added & {"rate", "nasa", "market"}
    # n1 never says "hockey", yet it now matches the interest; without expansion it cannot
    scores = dict(
        zip(
            model.ids,
            relevance(model, build_profiles(model, [PersonQuery("a", (("hockey", 1.0),))], config))[
                0
            ],
            strict=True,
        )
    )
    assert scores["n1"] > 0
    plain = replace(CFG, expansion_terms=0)
    flat = dict(
        zip(
            model.ids,
            relevance(model, build_profiles(model, [PersonQuery("a", (("hockey", 1.0),))], plain))[
                0
            ],
            strict=True,
        )
    )
    assert flat["n1"] == 0
    assert scores["m1"] == flat["m1"] == 0


def test_calibration_puts_a_phrase_best_matches_near_one(model: CorpusModel) -> None:
    people = [PersonQuery("a", (("hockey", 1.0),)), PersonQuery("b", (("rates", 1.0),))]
    rel = relevance(model, build_profiles(model, people, CFG))
    for row in rel:
        best = np.sort(row)[::-1][:2]
        assert 0.5 < best.mean() < 2.0


def test_all_people_at_once_equals_one_at_a_time(model: CorpusModel) -> None:
    people = [
        PersonQuery("a", (("hockey", 1.0),)),
        PersonQuery("b", (("space", 1.0), ("markets", 0.5))),
        PersonQuery("c", (("goalie", 1.0),), mutes=("trade",)),
    ]
    together = rank_all(model, people, NOW, CFG, limit=4)
    for person in people:
        alone = rank_all(model, [person], NOW, CFG, limit=4)[person.id]
        assert ids(alone) == ids(together[person.id])
        assert [e.score for e in alone] == pytest.approx(
            [e.score for e in together[person.id]], rel=1e-5
        )


def test_interest_weights_order_the_digest(model: CorpusModel) -> None:
    space_first = rank_all(
        model, [PersonQuery("a", (("space", 1.0), ("hockey", 0.2)))], NOW, CFG, limit=8
    )["a"]
    hockey_first = rank_all(
        model, [PersonQuery("a", (("space", 0.2), ("hockey", 1.0)))], NOW, CFG, limit=8
    )["a"]
    assert space_first[0].item_id in {"p1", "p2"}
    assert hockey_first[0].item_id in {"h1", "h2", "h3", "n1"}


def test_mutes_exclude_items_with_every_muted_word(model: CorpusModel) -> None:
    base = PersonQuery("a", (("space", 1.0),))
    assert "p1" in ids(rank_all(model, [base], NOW, CFG)["a"])
    muted = rank_all(model, [replace(base, mutes=("rocket",))], NOW, CFG)["a"]
    assert "p1" not in muted and "p2" in ids(muted)
    both_words = rank_all(model, [replace(base, mutes=("rocket weather",))], NOW, CFG)["a"]
    assert "p1" not in ids(both_words)
    one_word_missing = rank_all(model, [replace(base, mutes=("rocket galaxies",))], NOW, CFG)["a"]
    assert "p1" in ids(one_word_missing)


def test_mute_works_for_a_word_outside_the_vocabulary(model: CorpusModel) -> None:
    grown = model.add_items(
        [
            item(
                "x1",
                "Space probe Zorblax",
                "The zorblax probe reached orbit around the space station.",
            )
        ]
    )
    person = PersonQuery("a", (("space", 1.0),))
    assert "x1" in ids(rank_all(grown, [person], NOW, CFG)["a"])
    assert "x1" not in ids(rank_all(grown, [replace(person, mutes=("zorblax",))], NOW, CFG)["a"])


def test_minimum_relevance_gives_a_short_digest_on_a_quiet_day(model: CorpusModel) -> None:
    person = PersonQuery("a", (("hockey", 1.0),))
    quiet = rank_all(model, [person], NOW, CFG, item_ids=["m1", "m2", "p1"])["a"]
    assert quiet == []
    busy = rank_all(model, [person], NOW, CFG, item_ids=["m1", "m2", "h1", "h2"])["a"]
    assert set(ids(busy)) == {"h1", "h2"}
    strict = rank_all(model, [person], NOW, replace(CFG, min_relevance=50.0))["a"]
    assert strict == []


def test_recency_decay_halves_the_score_each_half_life(model: CorpusModel) -> None:
    person = PersonQuery("a", (("space", 1.0),))
    fresh = rank_all(model, [person], NOW, CFG, item_ids=["p2"])["a"][0].score
    later = rank_all(
        model, [person], NOW + timedelta(hours=CFG.recency_half_life_hours), CFG, item_ids=["p2"]
    )["a"][0].score
    assert later == pytest.approx(fresh / 2, rel=1e-4)


def test_judged_items_are_not_offered_again(model: CorpusModel) -> None:
    person = PersonQuery("a", (("space", 1.0),), feedback=(("p1", 1),))
    assert "p1" not in ids(rank_all(model, [person], NOW, CFG)["a"])


# ---------------------------------------------------------------- selection
def test_near_duplicates_collapse_into_one_entry_listing_the_others() -> None:
    items = CORPUS + [
        item(
            "h1-b",
            "Hockey playoffs open tonight",
            "The NHL playoffs open tonight; the goalie stopped every puck!",
            "s7",
        ),
    ]
    model = CorpusModel.fit(items, CFG)
    digest = rank_all(model, [PersonQuery("a", (("hockey", 1.0),))], NOW, CFG, limit=5)["a"]
    got = ids(digest)
    assert ("h1" in got) != ("h1-b" in got)
    entry = next(e for e in digest if e.item_id in {"h1", "h1-b"})
    assert set(entry.also_from) == {"h1", "h1-b"} - {entry.item_id}
    assert "Also reported by 1 other source" in entry.why
    loose = rank_all(
        model,
        [PersonQuery("a", (("hockey", 1.0),))],
        NOW,
        replace(CFG, duplicate_similarity=1.01),
        limit=5,
    )["a"]
    assert {"h1", "h1-b"} <= set(ids(loose))


def test_per_source_cap_limits_one_busy_source() -> None:
    items = [
        item(f"a{i}", f"Hockey game {i}", f"NHL hockey game report number {i} with goals", "busy")
        for i in range(5)
    ]
    items += [
        item(f"b{i}", f"Hockey notes {i}", f"NHL hockey notes {i} and a goalie", "quiet")
        for i in range(2)
    ]
    model = CorpusModel.fit(items, CFG)
    person = PersonQuery("a", (("hockey", 1.0),))
    capped = rank_all(
        model, [person], NOW, replace(CFG, per_source_cap=2, duplicate_similarity=1.01), limit=5
    )["a"]
    sources = [model.source_ids[model.index[e.item_id]] for e in capped]
    assert sources.count("busy") == 2 and sources.count("quiet") == 2
    uncapped = rank_all(
        model, [person], NOW, replace(CFG, per_source_cap=0, duplicate_similarity=1.01), limit=5
    )["a"]
    assert len(uncapped) == 5


def test_mmr_lets_a_second_story_in_before_more_of_the_first() -> None:
    story = "NHL hockey final: the goalie and the puck, overtime winner"
    items = [
        item("x1", "Hockey final overtime", story + " in game seven", "s1"),
        item("x2", "Hockey final overtime winner", story + " reaction", "s2"),
        item("x3", "Hockey final recap", story + " recap", "s3"),
        item(
            "y1",
            "Hockey final tickets",
            "Fans queue for hockey final tickets outside the arena",
            "s4",
        ),
        item("z1", "Bond markets", "Rates and bonds", "s5"),
    ]
    model = CorpusModel.fit(items, CFG)
    person = PersonQuery("a", (("hockey final", 1.0),))
    config = replace(CFG, duplicate_similarity=1.01)
    relevance_only = ids(
        rank_all(model, [person], NOW, replace(config, diversity_lambda=1.0), limit=2)["a"]
    )
    diverse = ids(
        rank_all(model, [person], NOW, replace(config, diversity_lambda=0.3), limit=2)["a"]
    )
    assert "y1" not in relevance_only
    assert "y1" in diverse


# ---------------------------------------------------------------- explanation
def test_every_entry_explains_which_interest_and_words(model: CorpusModel) -> None:
    person = PersonQuery("a", (("space", 1.0), ("hockey", 1.0)))
    digest = rank_all(model, [person], NOW, CFG, limit=6)["a"]
    assert digest
    for entry in digest:
        assert entry.matched_interests and entry.top_terms
        assert entry.why.startswith("Matches your interest")
        for interest in entry.matched_interests:
            assert f"“{interest}”" in entry.why
    p1 = next(e for e in digest if e.item_id == "p1")
    assert p1.matched_interests == ("space",)
    assert any(word in p1.why for word in ("rocket", "nasa", "space"))
    assert "hockey" not in p1.why


# ---------------------------------------------------------------- feedback
def test_feedback_moves_tomorrows_ranking() -> None:
    items = [
        item(
            "c1",
            "Python release",
            "Python code: a new release of the python interpreter and its compiler.",
            "s1",
        ),
        item(
            "c2",
            "Python packaging",
            "Packaging python code with a compiler toolchain and wheels.",
            "s2",
        ),
        item(
            "c3",
            "Python typing",
            "Static typing for python code, checked before the compiler runs.",
            "s3",
        ),
        item(
            "z1",
            "Python in the zoo",
            "A python snake escaped the zoo; the snake keeper found the reptile.",
            "s4",
        ),
        item(
            "z2",
            "Python eggs hatch",
            "Snake eggs hatch: a python reptile mother guards the nest at the zoo.",
            "s5",
        ),
        item(
            "z3",
            "Python swallows deer",
            "The snake, a giant python reptile, swallowed a deer near the zoo.",
            "s6",
        ),
    ]
    config = replace(CFG, expansion_terms=0)  # isolate feedback from expansion
    model = CorpusModel.fit(items, config)
    twin = PersonQuery("a", (("python", 1.0),))
    reader = replace(twin, feedback=(("c1", 1), ("z1", -1)))
    before = dict(
        zip(model.ids, relevance(model, build_profiles(model, [twin], config))[0], strict=True)
    )
    after = dict(
        zip(model.ids, relevance(model, build_profiles(model, [reader], config))[0], strict=True)
    )
    for code, snake in (("c2", "z2"), ("c3", "z3"), ("c2", "z3"), ("c3", "z2")):
        assert after[code] - after[snake] > before[code] - before[snake]
        assert after[code] > after[snake]
    digest = rank_all(model, [reader], NOW, config, limit=2)["a"]
    assert set(ids(digest)) == {"c2", "c3"}


def test_items_found_through_feedback_say_so(model: CorpusModel) -> None:
    person = PersonQuery("a", (("space", 1.0),), feedback=(("h1", 1), ("h2", 1)))
    digest = rank_all(model, [person], NOW, replace(CFG, feedback_full_after=2), limit=8)["a"]
    hockey = [e for e in digest if e.item_id in {"h3", "n1"}]
    assert hockey, "liked hockey items bring more hockey"
    for entry in hockey:
        assert "Similar to items you marked useful (" in entry.why
        assert entry.matched_interests == ()
    assert next(e for e in digest if e.item_id == "p2").matched_interests == ("space",)


def test_feedback_on_items_outside_the_model_is_ignored(model: CorpusModel) -> None:
    plain = build_profiles(model, [PersonQuery("a", (("space", 1.0),))], CFG)
    ghost = build_profiles(
        model, [PersonQuery("a", (("space", 1.0),), feedback=(("gone", 1),))], CFG
    )
    assert abs(plain.vectors - ghost.vectors).sum() == pytest.approx(0.0)


# ---------------------------------------------------------------- gems, guards
def test_curator_gems_are_boosted_for_their_audience() -> None:
    items = [replace(c, gem_audience=("team-a",)) if c.id == "p2" else c for c in CORPUS]
    model = CorpusModel.fit(items, CFG)
    member = PersonQuery("a", (("space", 1.0),), audiences=("team-a",))
    other = PersonQuery("b", (("space", 1.0),), audiences=("team-b",))
    got = rank_all(model, [member, other], NOW, CFG)
    boosted = next(e for e in got["a"] if e.item_id == "p2")
    plain = next(e for e in got["b"] if e.item_id == "p2")
    assert boosted.score == pytest.approx(plain.score * (1 + CFG.gem_boost), rel=1e-5)
    assert "curator" in boosted.why and "curator" not in plain.why


def test_interest_in_a_word_the_vocabulary_pruned_still_finds_items() -> None:
    config = replace(CFG, min_df=2)
    items = CORPUS + [
        item("q1", "Quokka spotted", "A quokka was spotted near the space station mockup.", "s5")
    ]
    model = CorpusModel.fit(items, config)
    assert "quokka" not in model.vectorizer.vocabulary_
    digest = rank_all(model, [PersonQuery("a", (("quokka", 1.0),))], NOW, config, limit=3)["a"]
    assert "q1" in ids(digest)


def test_guards(model: CorpusModel) -> None:
    with pytest.raises(ValueError):
        RankConfig(max_df=0.0)
    with pytest.raises(ValueError):
        RankConfig(min_relevance=-1.0)
    with pytest.raises(ValueError):
        PersonQuery("a", (("hockey", 0.0),))
    with pytest.raises(ValueError):
        PersonQuery("a", (("hockey", 1.0),), feedback=(("h1", 2),))
    with pytest.raises(ValueError):
        CorpusModel.fit([], CFG)
    people = [PersonQuery("a", (("hockey", 1.0),))]
    profiles = build_profiles(model, people, CFG)
    with pytest.raises(ValueError):
        rank_all(model, [PersonQuery("b", (("hockey", 1.0),))], NOW, CFG, profiles=profiles)
    other = CorpusModel.fit(CORPUS[:4], CFG)
    with pytest.raises(ValueError):
        rank_all(other, people, NOW, CFG, profiles=profiles)
    assert rank_all(model, [PersonQuery("e", ())], NOW, CFG) == {"e": []}


def test_similarities_built_per_block_give_the_same_digests(
    model: CorpusModel, monkeypatch
) -> None:
    import curation.rank.select as rank_select

    people = [
        PersonQuery("a", (("hockey", 1.0),)),
        PersonQuery("b", (("space", 1.0), ("markets", 1.0))),
    ]
    config = replace(CFG, diversity_lambda=0.5, people_chunk=1)
    dense = rank_all(model, people, NOW, config, limit=4)
    monkeypatch.setattr(rank_select, "DENSE_SIMILARITY_MAX", 0)
    blockwise = rank_all(model, people, NOW, config, limit=4)
    assert {k: ids(v) for k, v in dense.items()} == {k: ids(v) for k, v in blockwise.items()}
    assert all(dense[k] for k in dense)
