"""Feedback per interest: the items an interest served, marked useful or not useful, change how
much that interest weighs for the person (on top of the per-person Rocchio pull and push)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from curation.rank import CorpusModel, ItemText, PersonQuery, RankConfig, build_profiles, relevance

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CFG = RankConfig(min_df=1, max_df=1.0, expansion_docs=3, expansion_terms=3, min_relevance=0.05)


def item(i: str, title: str, text: str) -> ItemText:
    return ItemText(i, title, text, "s", NOW - timedelta(hours=1))


ITEMS = [
    item("h1", "Hockey playoffs open", "The NHL playoffs open tonight with a goalie duel."),
    item("h2", "Hockey trade deadline", "NHL teams trade a goalie before the hockey deadline."),
    item("h3", "Hockey arena sold out", "Hockey fans fill the arena for the NHL game."),
    item("s1", "Rocket launch delayed", "The space agency delays the rocket launch again."),
    item("s2", "Rocket engine fired", "A space rocket engine was fired on the test stand."),
    item("s3", "Space telescope finds water", "A space telescope finds water on a far planet."),
    item("x1", "Bond markets calm", "Bond markets were calm as rates held."),
]
INTERESTS = (("hockey", 1.0), ("space", 1.0))
# the space items this person was shown were not useful; a hockey item was
FEEDBACK = (("s1", -1), ("s2", -1), ("h1", 1))


def scores(config: RankConfig) -> dict[str, float]:
    model = CorpusModel.fit(ITEMS, config)
    person = PersonQuery("a", INTERESTS, feedback=FEEDBACK)
    row = relevance(model, build_profiles(model, [person], config), ["h2", "h3", "s3"])[0]
    return dict(zip(["h2", "h3", "s3"], row.tolist(), strict=True))


def test_an_interest_whose_items_were_not_useful_weighs_less() -> None:
    learned = scores(CFG)
    person_only = scores(replace(CFG, feedback_interest=0.0))
    # s3 shares no word with the judged rocket items but "space": the interest itself weighs less
    assert learned["s3"] < 0.6 * person_only["s3"]
    assert learned["h2"] >= person_only["h2"] - 1e-6
    assert learned["h3"] >= person_only["h3"] - 1e-6


def test_one_interest_is_not_scaled_by_its_own_feedback() -> None:
    model = CorpusModel.fit(ITEMS, CFG)
    person = PersonQuery("a", (("space", 1.0),), feedback=(("s1", -1), ("s2", -1)))
    off = replace(CFG, feedback_interest=0.0)
    on_row = relevance(model, build_profiles(model, [person], CFG), ["s3"])
    off_row = relevance(model, build_profiles(model, [person], off), ["s3"])
    assert abs(float(on_row[0, 0]) - float(off_row[0, 0])) < 1e-6
