"""The ASGI application (``uvicorn app.main:app``). It reads the same settings as the CLI."""

from __future__ import annotations

from fastapi import FastAPI

from app import problems
from curation import __version__
from curation.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    application = FastAPI(title="curation", version=__version__)
    application.state.settings = settings or get_settings()
    problems.install(application)

    @application.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return application


app = create_app()
