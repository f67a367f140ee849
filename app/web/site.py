"""Adds the web pages to an app: their routers, static files and the session cookie."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.web.pages import (
    collections,
    gems,
    insights,
    items,
    me,
    people,
    signin,
    sources,
    teams,
)
from app.web.session import WebSessions

STATIC_DIR = Path(__file__).parent / "static"
#: the OPML upload form's path (it takes bodies up to ``CURATION_API_MAX_OPML_BYTES``)
OPML_UPLOAD_PATH = sources.IMPORT_PATH


def install(application: FastAPI) -> None:
    """Mount the pages, their static files and the session cookie."""
    application.mount("/static/web", StaticFiles(directory=STATIC_DIR), name="web-static")
    for module in (signin, me, sources, items, gems, collections, insights, people, teams):
        application.include_router(module.router)
    application.add_middleware(WebSessions, settings=application.state.settings)
