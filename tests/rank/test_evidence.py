"""Interest matching needs evidence for the phrase: mixed-topic feeds, quiet days, generic words,
and the document-frequency ceiling that must not drop the words a person asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from curation.rank import CorpusModel, ItemText, PersonQuery, RankConfig, rank_all

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CFG = RankConfig()  # the defaults the service runs with


def item(i: str, title: str, text: str, source: str) -> ItemText:
    return ItemText(i, title, text, source, NOW - timedelta(hours=1))


# A day of general news (sport, film, business, technology, politics): nothing about Python,
# nothing about learning; "test", "development", "internet" and "film" occur in passing.
MIXED = [
    item(
        "r1",
        "England win the first rugby test",
        "England beat Australia in the first rugby test at Twickenham; the test series continues next week with the pack on form.",
        "bbc",
    ),
    item(
        "r2",
        "Rugby test squad named",
        "The coach named his squad for the second rugby test against Australia, with three new forwards in the pack.",
        "bbc",
    ),
    item(
        "r3",
        "Wales rugby injury blow",
        "Wales lose their captain to a knee injury before the Six Nations rugby opener in Cardiff.",
        "bbc",
    ),
    item(
        "f1",
        "Wenger handed summer war chest",
        "Arsenal manager Wenger will have money to spend in the summer as the stadium development and the surroundings near completion.",
        "bbc",
    ),
    item(
        "f2",
        "Chelsea extend lead at the top",
        "Chelsea beat Everton to extend their lead at the top of the Premiership as the striker scored twice.",
        "bbc",
    ),
    item(
        "f3",
        "United striker fit for derby",
        "The United striker is fit for the derby after a scan on his ankle, the manager confirmed.",
        "bbc",
    ),
    item(
        "m1",
        "Horror film heads US box office",
        "A horror film took the top spot at the US box office this weekend, ahead of an animated film about a family of superheroes.",
        "bbc",
    ),
    item(
        "m2",
        "Oscar nominations announced",
        "The Oscar nominations were announced with the biopic film leading the field ahead of the war film.",
        "bbc",
    ),
    item(
        "b1",
        "Broadband in the UK growing fast",
        "Broadband connections in the UK grew fast last year as more homes signed up for broadband internet, the regulator said.",
        "bbc",
    ),
    item(
        "b2",
        "Broadband prices fall again",
        "Broadband providers cut prices again as competition for broadband customers heats up across the UK.",
        "bbc",
    ),
    item(
        "t1",
        "Mobile phones get faster chips",
        "Phone makers use faster chips and bigger screens; the internet on mobile phones is still slow for many users.",
        "bbc",
    ),
    item(
        "e1",
        "Economy grows in the third quarter",
        "The UK economy grew in the third quarter as services and retail sales rose, official figures show.",
        "bbc",
    ),
    item(
        "e2",
        "Oil prices climb on supply fears",
        "Oil prices climbed as supply fears grew and demand for crude rose in Asia, traders said.",
        "bbc",
    ),
    item(
        "e3",
        "Bank holds interest rates",
        "The Bank held interest rates as inflation stayed close to target and the economy grew.",
        "bbc",
    ),
    item(
        "p1",
        "Election campaign enters final week",
        "The election campaign enters its final week with the parties arguing over tax and public services.",
        "bbc",
    ),
    item(
        "p2",
        "Minister defends school plans",
        "The minister defended plans for new schools and a development fund for teachers.",
        "bbc",
    ),
    item(
        "h1",
        "Drug test results delayed",
        "The results of the drug test on the sprinter were delayed by the laboratory, officials said.",
        "bbc",
    ),
    item(
        "h2",
        "Hospital waiting lists shrink",
        "Hospital waiting lists shrank as more operations were carried out at weekends.",
        "bbc",
    ),
]


def digest(items: list[ItemText], phrase: str, config: RankConfig = CFG) -> list[str]:
    model = CorpusModel.fit(items, config)
    person = PersonQuery("a", ((phrase, 1.0),))
    return [r.item_id for r in rank_all(model, [person], NOW, config, limit=10)["a"]]


@pytest.mark.parametrize(
    "phrase",
    [
        "python testing",  # "python" occurs nowhere; "test" is rugby and a drug test
        "learning and development",  # "development" is a stadium and a school fund
        "quantum computing",
        "knitting patterns",
        "film development",  # both words known, never together: photography is not here
        "oil painting",
    ],
)
def test_interests_that_match_nothing_today_get_no_filler(phrase: str) -> None:
    assert digest(MIXED, phrase) == []


def test_one_generic_word_in_common_is_not_a_match() -> None:
    got = digest(MIXED, "python testing")
    assert "r1" not in got and "r2" not in got and "h1" not in got
    assert "f1" not in digest(MIXED, "learning and development")


def test_a_phrase_the_feed_does_speak_of_is_matched() -> None:
    got = digest(MIXED, "broadband internet")
    assert got[0] == "b1" and "b2" in got
    assert "m1" not in got and "r1" not in got
    rugby = digest(MIXED, "rugby")
    assert rugby[:2] in (["r1", "r2"], ["r2", "r1"])
    assert not {"m1", "b1", "e1"} & set(rugby)


def _python_feed() -> list[ItemText]:
    """A window that is 80 % about Python testing, 20 % other news."""
    python = [
        item(
            f"py{i}",
            f"Python testing tip {i}: {topic}",
            f"Python testing with pytest: {topic}. Write the test first, run the Python test "
            f"suite, and keep each test small.",
            f"blog{i % 4}",
        )
        for i, topic in enumerate(
            [
                "fixtures",
                "parametrize",
                "mocks",
                "coverage",
                "tox",
                "hypothesis",
                "markers",
                "plugins",
                "assertions",
                "tmp paths",
                "monkeypatch",
                "doctest",
            ]
        )
    ]
    return python + MIXED[:3]


def test_the_dominant_topic_does_not_vanish_under_the_frequency_ceiling() -> None:
    """ "python" and "test" are in more than max_df (0.5) of this window; they stay matchable."""
    items = _python_feed()
    model = CorpusModel.fit(items, CFG)
    assert len(model.term_columns(["python", "test"])) == 2
    got = digest(items, "python testing")
    assert len(got) >= 5
    assert all(i.startswith("py") for i in got)
