"""A person's own page (every role): today's digest (a preview before their digest hour),
past digests, and their interests and mutes, editable. Only the signed-in person's data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import DomainDep
from app.web import render
from app.web.access import Form, LearnerPage, WebRoute, attempt, text
from curation.cli.people import parse_interest
from curation.clock import utcnow
from curation.errors import InvalidInput

router = APIRouter(prefix="/me", route_class=WebRoute, include_in_schema=False)
MAX_LINES = 50  # as the API: at most 50 interests, 50 mutes
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()][: MAX_LINES + 1]


@router.get("", response_class=HTMLResponse)
def my_page(request: Request, me: LearnerPage, domain: DomainDep) -> HTMLResponse:
    digest = domain.digests.today(me, utcnow())
    past = domain.digests.history(me.id, limit=30)
    feeds = domain.personal_feeds.urls(me.id)
    channels = domain.channels.list(me.id)
    return render.page(
        request,
        "me.html",
        digest=digest,
        past=past,
        person=me,
        feeds=feeds,
        channels=channels,
        weekdays=WEEKDAYS,
        section="me",
    )


@router.get("/digests/{day}", response_class=HTMLResponse)
def past_digest(
    request: Request,
    day: Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$")],
    me: LearnerPage,
    domain: DomainDep,
) -> HTMLResponse:
    digest = domain.digests.for_date(me.id, day)
    return render.page(request, "digest.html", digest=digest, section="me")


@router.post("/interests")
def set_interests(request: Request, me: LearnerPage, form: Form, domain: DomainDep) -> Response:
    def act() -> None:
        lines = _lines(text(form, "interests"))
        domain.people.set_interests(me.id, [parse_interest(line) for line in lines[:MAX_LINES]])

    attempt(request, act, "Your interests are saved.")
    return render.redirect("/me")


@router.post("/mutes")
def set_mutes(request: Request, me: LearnerPage, form: Form, domain: DomainDep) -> Response:
    attempt(
        request,
        lambda: domain.people.set_mutes(me.id, _lines(text(form, "mutes"))[:MAX_LINES]),
        "Your mutes are saved.",
    )
    return render.redirect("/me")


@router.post("/feeds/rotate")
def rotate_feeds(request: Request, me: LearnerPage, form: Form, domain: DomainDep) -> Response:
    attempt(
        request,
        lambda: domain.personal_feeds.rotate(me.id),
        "Your feed has new URLs: the old ones no longer work.",
    )
    return render.redirect("/me")


@router.post("/channels/{channel_id}/cadence")
def set_channel_cadence(
    request: Request, channel_id: int, me: LearnerPage, form: Form, domain: DomainDep
) -> Response:
    def act() -> None:
        day = text(form, "weekday").strip()
        if day and not day.isdigit():
            raise InvalidInput("the weekday must be a number from 0 (Monday) to 6 (Sunday)")
        weekday = int(day) if day else None
        cadence = text(form, "cadence")
        domain.channels.set_cadence(me.id, channel_id, cadence, weekday, now=utcnow())

    attempt(request, act, "Your channel's cadence is saved.")
    return render.redirect("/me")
