"""The ASGI application (``uvicorn app.main:app``). It reads the same settings as the CLI.

:func:`create_app` builds an app from a :class:`~curation.settings.Settings` (tests pass their
own); the module-level ``app`` reads ``CURATION_*`` from the environment. No database is touched
at import or build time: the engine is made at start-up or on the first request (:mod:`app.deps`),
which also checks that the database's schema is the code's (else every answer is a 503 saying
what to run).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app import problems
from app.caches import LiveAnswers, RecordedDigests
from app.deps import DomainProvider
from app.middleware import AddressRateLimit, AfterWrites, BodyLimit, RequestId, RequestMetrics
from app.ratelimits import RateLimits
from app.routes import (
    auth,
    channels,
    collections,
    deliveries,
    digests,
    email_links,
    gems,
    home,
    insights,
    items,
    me,
    me_feeds,
    ops,
    people,
    portfolio,
    sources,
    teams,
)
from app.routing import gate_routes
from app.schemas import Problem
from app.web import site as web
from curation import __version__
from curation.errors import SchemaNotCurrent
from curation.longlived import settle
from curation.metrics import ServiceMetrics
from curation.services import Curation
from curation.settings import Settings, get_settings

_PROBLEMS = {
    status: {"model": Problem, "content": {problems.PROBLEM: {}}, "description": text}
    for status, text in {
        401: "No API key, or not a valid one",
        403: "The caller's role does not allow this",
        404: "No such resource",
        413: "Request body too large",
        422: "Invalid input; `errors` names each field",
        429: "Too many requests; `Retry-After` says when to try again",
        503: "Database busy, or its schema is not current; `Retry-After` says when to try again",
    }.items()
}
log = logging.getLogger(__name__)


def warm_up(domain: Curation) -> threading.Thread:
    """Load the ranking model (and calibrate the declared phrases) in a background thread,
    started once the app serves: on 100,000 items that takes seconds, which the first request
    that needs the model (an item's page, its reach, recommendations) would otherwise wait for.
    Start-up and ``/healthz`` do not wait for it; a request that needs the model meanwhile
    waits for the load under way (:meth:`~curation.rank.recommender.Recommender.model`)."""

    def warm() -> None:
        started = time.perf_counter()
        try:
            loaded = domain.insights.warm()
        except Exception:  # noqa: BLE001 - the first request that needs the model tries again
            log.warning("the ranking model was not loaded at start-up", exc_info=True)
            return
        if loaded:
            log.info("ranking model loaded at start-up in %.1f s", time.perf_counter() - started)
        else:
            log.info("no ranking model to load at start-up: none is fitted yet")

    thread = threading.Thread(target=warm, name="warm-up", daemon=True)
    thread.start()
    return thread


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = ServiceMetrics()
    domain = DomainProvider(settings, observe_live_batch=metrics.observe_live_batch)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # the threads that run the synchronous endpoints (anyio's default limiter, 40): a few
        # working at once finish sooner than many fighting over the interpreter
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        try:
            built = await asyncio.to_thread(domain.get)
        except SchemaNotCurrent as exc:  # served anyway: every answer says why it cannot help
            log.error("not serving the database: %s", exc.detail)
        else:
            application.state.warm_up = warm_up(built)
        settle()  # what lives as long as the process: out of the collector's full passes
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
    application.state.metrics = metrics
    application.state.ingest_lock = asyncio.Lock()
    application.state.recorded_digests = RecordedDigests()
    application.state.live_answers = LiveAnswers(max_age=settings.rank_cache_seconds)
    application.state.rate_limits = RateLimits(settings)
    problems.install(application)

    application.include_router(home.router)
    application.include_router(ops.router)
    application.include_router(email_links.router)  # e-mail links: HTML, token auth
    for module in (people, me, digests, deliveries, sources, items, gems, teams):
        application.include_router(module.router, responses=_PROBLEMS)
    application.include_router(collections.feeds)  # public collection feeds: token in the URL
    application.include_router(me_feeds.router, responses=_PROBLEMS)  # /v1/me/feeds
    application.include_router(portfolio.router, responses=_PROBLEMS)  # saved, notes, portfolio
    application.include_router(me_feeds.feeds)  # personal digest feeds: token in the URL
    for module in (collections, insights):
        application.include_router(module.router, responses=_PROBLEMS)
    application.include_router(channels.router, responses=_PROBLEMS)  # /v1/me/channels
    application.include_router(auth.router)  # mails a sign-in link for the web pages
    web.install(application)  # the web pages (GET / is home.router), their session cookie

    # added last = outermost: metrics see the 413s that BodyLimit and the 429s that
    # AddressRateLimit answer; every answer carries the request id
    application.add_middleware(AfterWrites, changed=domain.changed)
    application.add_middleware(
        BodyLimit,
        default=settings.api_max_body_bytes,
        per_path={
            "/v1/sources/import": settings.api_max_opml_bytes,
            web.OPML_UPLOAD_PATH: settings.api_max_opml_bytes,
            portfolio.IMPORT_PATH: settings.portfolio_max_import_bytes,
        },
    )
    application.add_middleware(AddressRateLimit, limits=application.state.rate_limits)
    application.add_middleware(RequestMetrics, metrics=application.state.metrics)
    application.add_middleware(RequestId)
    gate_routes(application)
    return application


app = create_app()
