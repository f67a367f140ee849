"""A corpus model pickled before ``common`` and ``anchors`` existed (stored in the database by an
older release) still loads, ranks and takes new items."""

from __future__ import annotations

from datetime import UTC, datetime

from curation.rank import CorpusModel, ItemText, PersonQuery, RankConfig, rank_all

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CFG = RankConfig(min_df=1, max_df=1.0, min_relevance=0.05)
ITEMS = [
    ItemText("a", "Hockey playoffs open", "The NHL playoffs open tonight.", "s", NOW),
    ItemText("b", "Rocket launch delayed", "NASA delays the rocket launch.", "s", NOW),
]


def test_a_model_pickled_without_the_new_fields_still_works() -> None:
    model = CorpusModel.fit(ITEMS, CFG)
    old = CorpusModel.__new__(CorpusModel)
    old.__setstate__(model.__getstate__()[:-2])  # the state as the older release pickled it
    assert old.common is None and old.anchors == ()
    grown = old.add_items([ItemText("c", "Hockey trade", "NHL teams trade a goalie.", "t", NOW)])
    assert len(grown.item_anchors()) == 3
    got = rank_all(grown, [PersonQuery("p", (("hockey", 1.0),))], NOW, CFG)["p"]
    assert {e.item_id for e in got} == {"a", "c"}
