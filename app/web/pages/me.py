"""A person's own page (every role): today's digest (a preview before their digest hour),
past digests, their saved items with their notes, and their interests and mutes, editable.
Only the signed-in person's data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from app.deps import DomainDep
from app.web import render
from app.web.access import Form, LearnerPage, WebRoute, attempt, text
from curation.cli.people import parse_interest
from curation.clock import utcnow
from curation.errors import InvalidInput

router = APIRouter(prefix="/me", route_class=WebRoute, include_in_schema=False)
MAX_LINES = 50  # as the API: at most 50 interests, 50 mutes
SAVED_PER_PAGE = 20
PAST_PER_PAGE = 30  # past digests a page (older ones a link away: every one stays reachable)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()][: MAX_LINES + 1]


@router.get("", response_class=HTMLResponse)
def my_page(
    request: Request,
    me: LearnerPage,
    domain: DomainDep,
    saved_cursor: Annotated[str | None, Query(max_length=100)] = None,
    digests_before: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
) -> HTMLResponse:
    digest = domain.digests.today(me, utcnow())
    saved = domain.portfolio.saved(me.id, limit=SAVED_PER_PAGE, cursor=saved_cursor)
    past = domain.digests.history(me.id, before=digests_before, limit=PAST_PER_PAGE + 1)
    older = past[PAST_PER_PAGE - 1].day if len(past) > PAST_PER_PAGE else None
    past = past[:PAST_PER_PAGE]
    feeds = domain.personal_feeds.urls(me.id)
    channels = domain.channels.list(me.id)
    return render.page(
        request,
        "me.html",
        my_teams=domain.teams.teams_of(me.id),
        digest=digest,
        past=past,
        older_digests=older,
        person=me,
        feeds=feeds,
        channels=channels,
        saved=saved,
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
    return render.page(
        request,
        "digest.html",
        digest=digest,
        my_teams=domain.teams.teams_of(me.id),
        section="me",
    )


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


# ---- saved items and my notes on them (the same service as /v1/me/saved and /v1/me/notes) ----


def _back(form: FormData) -> str:
    """Where a form returns to: one of my pages (never another site), else my page."""
    back = text(form, "back")
    if back.startswith("/me") and "//" not in back and "\\" not in back and len(back) <= 200:
        return back
    return "/me"


def _item_id(form: FormData) -> int:
    value = text(form, "item_id").strip()
    if not value.isdigit() or len(value) > 10:
        raise InvalidInput("no such item")
    return int(value)


@router.post("/saved")
def save_item(request: Request, me: LearnerPage, form: Form, domain: DomainDep) -> Response:
    attempt(
        request,
        lambda: domain.people.record_feedback(me.id, _item_id(form), "saved"),
        "Saved: it is under Saved on your page.",
    )
    return render.redirect(_back(form))


@router.post("/shares")
def share_item(request: Request, me: LearnerPage, form: Form, domain: DomainDep) -> Response:
    """Share a digest entry with one of my teams, with a note (the same guard as the API)."""

    def act() -> str:
        team = text(form, "team_id").strip()
        if not team.isdigit() or len(team) > 10:
            raise InvalidInput("choose one of your teams")
        note = text(form, "note")
        share = domain.teams.share(me, item_id=_item_id(form), team_id=int(team), note=note)
        return f"Shared with “{share.team_name}”: they will find it in their next digest."

    attempt(request, act, lambda said: said)
    return render.redirect(_back(form))


@router.post("/saved/{item_id}/remove")
def unsave_item(
    request: Request, item_id: int, me: LearnerPage, form: Form, domain: DomainDep
) -> Response:
    attempt(request, lambda: domain.portfolio.unsave(me.id, item_id), "Removed from Saved.")
    return render.redirect("/me#saved")


@router.post("/notes/{item_id}")
def set_note(
    request: Request, item_id: int, me: LearnerPage, form: Form, domain: DomainDep
) -> Response:
    """Write my note on an item; an empty note deletes it."""
    note = text(form, "note")

    def act() -> str:
        if note.strip():
            domain.portfolio.set_note(me.id, item_id, note, utcnow())
            return "Your note is saved."
        domain.portfolio.delete_note(me.id, item_id)
        return "Your note is deleted."

    attempt(request, act, lambda said: said)
    return render.redirect("/me#saved")
