"""``curation run``: the API and the scheduler in one process, on the embedded default.

The one module of ``curation`` that imports the web app (``app``): serving is the edge where
the domain and the HTTP layer meet. Everything else in ``curation`` runs without a web framework.
"""

from __future__ import annotations

import asyncio

import uvicorn

from app.main import create_app
from curation.scheduler import prepare, run_scheduler
from curation.services import make_curation
from curation.settings import Settings


async def serve(settings: Settings, *, host: str, port: int) -> None:
    curation = make_curation(settings)
    prepare(curation)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_config=None,  # our handler (curation.logs) formats uvicorn's lines too
            log_level=settings.log_level.lower(),
        )
    )
    stop = asyncio.Event()
    jobs = asyncio.create_task(run_scheduler(curation, stop))
    try:
        await server.serve()
    finally:
        stop.set()
        await jobs
        curation.close()
