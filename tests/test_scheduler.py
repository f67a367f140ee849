"""The embedded scheduler's tick keeps the curators' insight figures current for every API
process: it computes them when none are stored, and leaves current ones alone."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from curation.scheduler import tick
from curation.storage.tables import InsightFigures
from tests.xapi.conftest import make_world

FIG = InsightFigures.__table__


def stored(world) -> dict[str, object]:  # noqa: ANN001
    with world.domain.engine.connect() as conn:
        return dict(conn.execute(select(FIG.c.name, FIG.c.computed_at)).all())


def test_a_tick_stores_the_insight_figures_and_a_second_leaves_them(store) -> None:
    world = make_world(store)
    try:
        assert stored(world) == {}
        asyncio.run(tick(world.domain))
        first = stored(world)
        assert set(first) == {"interests", "sources", "gems"}
        asyncio.run(tick(world.domain))  # still current (CURATION_INSIGHT_CACHE_SECONDS)
        assert stored(world) == first
        figures = world.domain.insights.sources()  # an API process reads them back
        assert [f.title for f in figures] == ["Example"]
    finally:
        world.domain.close()
