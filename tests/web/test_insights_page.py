"""``/workspace/insights`` over HTTP (no browser): each chart row carries its own bar, drawn
from its figure against the chart's largest, and a "fewer than 5" figure never gets a bar
that would tell its number."""

from __future__ import annotations

import re

from tests.helpers.api import Api
from tests.helpers.web import sign_in

_ROW = re.compile(
    r'<td class="phrase">([^<]+)</td>\s*<td class="people">'
    r'<span class="bar"><span class="fill w(\d+)"></span></span> ([^<]+)</td>'
)


def test_each_interest_row_has_the_bar_of_its_own_figure(web: Api) -> None:
    for _ in range(10):
        web.person(interests=[("Kubernetes", 1.0)])
    for _ in range(5):
        web.person(interests=[("sourdough", 1.0)])
    web.person(interests=[("gardening", 1.0)])
    curator = web.person("curator")
    sign_in(web.client, curator.key)

    page = web.client.get("/workspace/insights")
    assert page.status_code == 200
    rows = {
        phrase.lower(): (int(width), people) for phrase, width, people in _ROW.findall(page.text)
    }
    assert rows["kubernetes"] == (100, "10")  # the largest figure: the whole bar
    assert rows["sourdough"] == (50, "5")  # half of it
    assert rows["gardening"] == (5, "fewer than 5")  # the smallest bar, whatever the figure
