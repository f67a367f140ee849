"""The ASGI application (``uvicorn app.main:app``). It reads the same settings as the CLI.

:func:`create_app` builds an app from a :class:`~curation.settings.Settings` (tests pass their
own); the module-level ``app`` reads ``CURATION_*`` from the environment. No database is touched
at import or build time: the engine is made on the first request (:mod:`app.deps`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app import problems
from app.caches import RecordedDigests
from app.deps import DomainProvider
from app.middleware import BodyLimit, RequestMetrics
from app.routes import digests, email_links, gems, home, items, me, ops, people, sources
from app.schemas import Problem
from curation import __version__
from curation.metrics import ServiceMetrics
from curation.settings import Settings, get_settings

_PROBLEMS = {
    status: {"model": Problem, "content": {problems.PROBLEM: {}}, "description": text}
    for status, text in {
        401: "No API key, or not a valid one",
        403: "The caller's role does not allow this",
        404: "No such resource",
        413: "Request body too large",
        422: "Invalid input; `errors` names each field",
    }.items()
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    domain = DomainProvider(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        domain.close()

    # the docs pages load Swagger UI and ReDoc from the installed fastapi-offline package,
    # never from a CDN, so /docs works on a machine with no outside network
    application = FastAPIOffline(
        static_url="/static/docs",
        title="curation",
        version=__version__,
        description="Personal, explained daily digests from the feeds people follow at work.",
        lifespan=lifespan,
    )
    application.state.settings = settings
    application.state.domain = domain
    application.state.metrics = ServiceMetrics()
    application.state.ingest_lock = asyncio.Lock()
    application.state.recorded_digests = RecordedDigests()
    problems.install(application)

    application.include_router(home.router)
    application.include_router(ops.router)
    application.include_router(email_links.router)  # e-mail links: HTML, token auth
    for module in (people, me, digests, sources, items, gems):
        application.include_router(module.router, responses=_PROBLEMS)

    # added last = outermost: metrics see the 413s that BodyLimit answers
    application.add_middleware(
        BodyLimit,
        default=settings.api_max_body_bytes,
        per_path={"/v1/sources/import": settings.api_max_opml_bytes},
    )
    application.add_middleware(RequestMetrics, metrics=application.state.metrics)
    return application


app = create_app()
