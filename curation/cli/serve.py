"""``curation run`` and ``curation serve``: the API, in one process or several, and the scheduler.

The one module of ``curation`` that imports the web app (``app``): serving is the edge where
the domain and the HTTP layer meet. Everything else in ``curation`` runs without a web framework.

With one API process (the default) the app and the embedded scheduler share one event loop.
With ``--workers N`` uvicorn runs N API processes on one listening socket and this process
supervises them; the scheduler (``curation run`` only) then runs here, in the supervisor, so
there is exactly one whatever N is. The workers keep their metrics in files of one directory
(prometheus-client's multiprocess mode, :mod:`curation.metrics`) that this process empties
before they start, so ``/metrics`` adds up every process whichever one answers. Each API
process keeps its own caches: a change made through another process (a revoked key, a new
role) is seen within ``CURATION_API_AUTH_CACHE_SECONDS``; recorded digests never change, so
their cache needs no such bound.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from app.main import create_app
from app.serving import server_config
from curation.logs import configure_logging
from curation.metrics import MULTIPROC_ENV
from curation.scheduler import prepare, run_scheduler
from curation.services import Curation, make_curation
from curation.settings import PREFIX, Settings, get_settings

log = logging.getLogger(__name__)

#: what each API process calls for its app (it reads CURATION_* from the environment)
APP_FACTORY = "curation.cli.serve:api_process_app"


async def serve(settings: Settings, *, host: str, port: int, scheduler: bool = True) -> None:
    """The API in this process, and the scheduler beside it when ``scheduler``."""
    curation = make_curation(settings)
    prepare(curation)
    server = uvicorn.Server(
        server_config(  # uvicorn, with a deadline for each request's headers
            create_app(settings),
            host=host,
            port=port,
            header_timeout=settings.api_header_timeout,
            log_config=None,  # our handler (curation.logs) formats uvicorn's lines too
            log_level=settings.log_level.lower(),
        )
    )
    stop = asyncio.Event()
    jobs = asyncio.create_task(run_scheduler(curation, stop)) if scheduler else None
    if jobs is not None:
        log.info("scheduler: running in process %d", os.getpid())
    try:
        await server.serve()
    finally:
        stop.set()
        if jobs is not None:
            await jobs
        curation.close()


def serve_processes(
    settings: Settings, *, host: str, port: int, workers: int, scheduler: bool = True
) -> None:
    """``workers`` API processes under this one; the scheduler, if any, here (blocking)."""
    curation = make_curation(settings)
    prepare(curation)
    metrics_dir, ours = _metrics_dir()
    # the API processes read their settings from the environment: where they listen too
    os.environ[f"{PREFIX}API_HOST"] = host
    os.environ[f"{PREFIX}API_PORT"] = str(port)
    config = server_config(  # the header deadline travels with the config to each worker
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        header_timeout=settings.api_header_timeout,
        workers=workers,
        # uvicorn kills a process that does not answer its supervisor's ping within this; its
        # default (5 s) is less than an API process takes to start on a busy 2-core machine
        # (spawn, imports), and then every process is killed while starting, again and again
        timeout_worker_healthcheck=60,
        log_config=None,
        log_level=settings.log_level.lower(),
    )
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    thread = _SchedulerThread(curation) if scheduler else None
    if thread is not None:
        thread.start()
    try:
        supervisor.run()  # until SIGINT/SIGTERM; restarts a worker that dies
    finally:
        if thread is not None:
            thread.stop()
        curation.close()
        if ours:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def api_process_app() -> object:
    """The app of one API process of :func:`serve_processes`, with its logging set up: the
    module-level app of :mod:`app.main` (one app, so one set of metrics, per process)."""
    configure_logging(get_settings())
    log.info("API process %d serving", os.getpid())
    from app import main

    return main.app


def _metrics_dir() -> tuple[Path, bool]:
    """The directory of the workers' metrics, emptied; made here (and True) unless the
    environment names one. Set in the environment before any worker imports prometheus_client."""
    named = os.environ.get(MULTIPROC_ENV)
    if named:
        path = Path(named)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):  # values of an earlier run would add to the new ones
            old.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="curation-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path, True


class _SchedulerThread(threading.Thread):
    """The embedded scheduler on its own event loop, beside the supervisor's loop."""

    def __init__(self, curation: Curation) -> None:
        super().__init__(name="curation-scheduler", daemon=True)
        self.curation = curation
        self.loop = asyncio.new_event_loop()
        self.stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.stopping = asyncio.Event()
        log.info("scheduler: running in process %d (supervisor)", os.getpid())
        self.loop.run_until_complete(run_scheduler(self.curation, self.stopping))
        self.loop.close()

    def stop(self, timeout: float = 30.0) -> None:
        if self.stopping is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.join(timeout)
