"""``/workspace/insights`` (curators): what learners want, as server-rendered bars (CSS widths
set by classes, no script): declared interests by people with their 7/30-day coverage and
gaps, sources by value, gems by reach. Every count of people comes from
``curation.insights`` already passed through the fewer-than-5 rule, and is shown as it is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.deps import DomainDep
from app.web import render
from app.web.access import CuratorPage, WebRoute

router = APIRouter(prefix="/workspace", route_class=WebRoute, include_in_schema=False)
GEMS_SHOWN = 50


def bar(value: object, largest: int) -> int:
    """A bar's width in steps of 5% (0-100) for a figure; a "fewer than 5" figure gets the
    smallest visible bar, never one that would tell its number."""
    if not isinstance(value, int) or isinstance(value, bool):
        return 5
    if largest <= 0 or value <= 0:
        return 0
    return max(5, round(100 * value / largest / 5) * 5)


#: the bar of each width: a page draws a few hundred, and a Python call returning a ready
#: string costs a fraction of a template macro's call
_BARS = {
    width: Markup(f'<span class="bar"><span class="fill w{width}"></span></span>')  # noqa: S704
    for width in range(0, 101, 5)
}


def bar_html(value: object, largest: int) -> Markup:
    """The bar of a chart for a figure (see :func:`bar`)."""
    return _BARS[bar(value, largest)]


def _largest(values: list[object]) -> int:
    return max((v for v in values if isinstance(v, int) and not isinstance(v, bool)), default=0)


@router.get("/insights", response_class=HTMLResponse)
def insights_page(request: Request, _: CuratorPage, domain: DomainDep) -> HTMLResponse:
    service = getattr(domain, "insights", None)
    if service is None:
        return render.page(request, "insights.html", available=False, section="insights")
    # no ``now``: the service keeps each answer for CURATION_INSIGHT_CACHE_SECONDS (an explicit
    # ``now`` is for tests and recomputes everything at every view)
    interests = service.interests()
    sources = service.sources()
    gems = service.gems(limit=GEMS_SHOWN)
    # each row with its bars drawn here: a template's call of ``bar`` costs more than the bar
    most_people = _largest([i.people for i in interests])
    most_items = max((i.items_30d for i in interests), default=0)
    most_source_items = max((s.items_30d for s in sources), default=0)
    most_delivered = _largest([g.delivered for g in gems])
    return render.page(
        request,
        "insights.html",
        available=True,
        interests=[
            (i, bar_html(i.people, most_people), bar_html(i.items_30d, most_items))
            for i in interests
        ],
        sources=[(s, bar_html(s.items_30d, most_source_items)) for s in sources],
        gems=[(g, bar_html(g.delivered, most_delivered)) for g in gems],
        section="insights",
    )
