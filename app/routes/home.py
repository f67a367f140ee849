"""``GET /``: the front door of the web pages (:mod:`app.web`). Signed out: what the service is,
the two ways to sign in (a link by e-mail; an API key, for development) and the API
documentation at ``/docs``. Signed in: where to go (your page; the workspace for curators)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web import render
from app.web.access import Viewer, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, person: Viewer) -> HTMLResponse:
    return render.page(request, "home.html", person=person)
