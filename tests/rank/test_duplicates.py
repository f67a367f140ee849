"""Near-duplicates are the same story, not the same template: the collapse decision on both kinds
of pairs, and explanations that claim "also reported" only for the same story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from curation.rank import CorpusModel, ItemText, PersonQuery, RankConfig, build_profiles, rank_all
from curation.rank.select import stories
from curation.rank.text import same_story, story_marks

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# a cosine threshold low enough that the template's shared words alone would merge its items
CFG = RankConfig(min_df=1, max_df=1.0, per_source_cap=0, duplicate_similarity=0.45)


def item(i: str, title: str, text: str, source: str) -> ItemText:
    return ItemText(i, title, text, source, NOW - timedelta(hours=1))


POSTING = (
    "{company} said it raised the contract price it will pay for all grades of crude oil by "
    "{cents} cents a barrel, effective {day}. The increase brings its posted price for West "
    "Texas Intermediate to {price} dlrs a barrel. The price was last changed on {last}. "
    "Oil companies have been raising crude oil postings this week as spot prices for crude "
    "oil firmed on the world markets, traders said, and more crude oil posting increases are "
    "expected from other refiners and crude oil buyers."
)
# a template shared by different news: other companies, other prices
TEMPLATE = [
    item(
        "up",
        "Union Pacific raises crude oil postings",
        POSTING.format(
            company="Union Pacific Corp", cents=50, day="today", price="18.00", last="March 3"
        ),
        "wire-a",
    ),
    item(
        "sun",
        "Sun Co raises crude oil postings",
        POSTING.format(
            company="Sun Co Inc", cents=25, day="April 2", price="17.50", last="February 20"
        ),
        "wire-b",
    ),
    item(
        "phil",
        "Phillips raises crude oil postings",
        POSTING.format(
            company="Phillips Petroleum", cents=75, day="tomorrow", price="18.25", last="March 10"
        ),
        "wire-c",
    ),
]
# one story published by two feeds, the second edited (title and wording)
SAME = [
    item(
        "bb1",
        "Ofcom says UK broadband homes pass 10 million",
        "Ofcom said on Tuesday that 10 million UK homes now have broadband, up 40 per cent in a "
        "year, as BT and Virgin cut prices. Ofcom expects 12 million by December.",
        "wire-a",
    ),
    item(
        "bb2",
        "UK broadband homes pass 10 million, Ofcom says",
        "10 million UK homes now have broadband, Ofcom said on Tuesday, a rise of 40 per cent in "
        "a year as BT and Virgin cut their prices. The regulator expects 12 million by December.",
        "wire-b",
    ),
]
OTHER = [
    item("x1", "Chelsea win at Everton", "Chelsea beat Everton two nil in the Premiership.", "s"),
    item("x2", "Horror film tops box office", "A horror film topped the US box office.", "s"),
]


def test_same_template_other_company_is_another_story() -> None:
    marks = [story_marks(i.title, i.text) for i in TEMPLATE]
    assert not same_story(marks[0], marks[1])
    assert not same_story(marks[0], marks[2])
    model = CorpusModel.fit(TEMPLATE + SAME + OTHER, CFG)
    rows = model.rows(["up", "sun", "phil"])
    cosine = (model.similarity[rows] @ model.similarity[rows].T).toarray()
    assert (cosine >= CFG.duplicate_similarity).all()  # the words alone would merge them
    codes = stories(model, rows, CFG)
    assert len(set(codes.tolist())) == 3


def test_same_story_from_two_feeds_collapses() -> None:
    assert same_story(*(story_marks(i.title, i.text) for i in SAME))
    model = CorpusModel.fit(TEMPLATE + SAME + OTHER, CFG)
    codes = stories(model, model.rows(["bb1", "bb2"]), CFG)
    assert codes[0] == codes[1]


def test_explanation_claims_other_sources_only_for_the_same_story() -> None:
    model = CorpusModel.fit(TEMPLATE + SAME + OTHER, CFG)
    oil = rank_all(model, [PersonQuery("a", (("crude oil", 1.0),))], NOW, CFG, limit=5)["a"]
    assert {e.item_id for e in oil} == {"up", "sun", "phil"}
    assert all(e.also_from == () and "Also reported" not in e.why for e in oil)
    broadband = rank_all(model, [PersonQuery("b", (("broadband", 1.0),))], NOW, CFG)["b"]
    assert len(broadband) == 1
    assert set(broadband[0].also_from) == {"bb1", "bb2"} - {broadband[0].item_id}
    assert "Also reported by 1 other source." in broadband[0].why


def test_the_words_shown_are_those_that_carried_the_score() -> None:
    model = CorpusModel.fit(TEMPLATE + SAME + OTHER, CFG)
    person = PersonQuery("a", (("crude oil", 1.0),))
    profiles = build_profiles(model, [person], CFG)
    for entry in rank_all(model, [person], NOW, CFG, limit=5, profiles=profiles)["a"]:
        contrib = profiles.vectors[0].multiply(model.matrix[model.index[entry.item_id]]).tocsr()
        order = np.argsort(-contrib.data, kind="stable")[: CFG.explain_terms]
        strongest = [model.readable(int(contrib.indices[k])) for k in order]
        assert list(entry.top_terms[: CFG.explain_terms]) == strongest
        assert f"({', '.join(strongest)})" in entry.why
