"""Bounded reads answered on the event loop when the database is SQLite.

FastAPI runs a synchronous endpoint in a worker thread. On SQLite the work of a read is CPU in
this process, and every SQLite call lets go of the GIL: a worker thread then waits for the
event loop (or another worker) to hand the GIL back, call after call. Measured with the
workspace bench's client (8 connections, 100,000 items): a page of 50 gems took 25 ms at p95
from a thread and 15 ms on the loop; a search for "hockey" 30 ms and 21–24 ms.

:func:`quick_read` marks a GET endpoint whose work is a bounded read (a page of rows, a
search) and nothing that waits: no write, no network, no lock another thread may hold. On
SQLite it runs on the loop under a read budget of ``CURATION_API_INLINE_READ_MS``
(:mod:`curation.storage.budget`); a read that runs past it (a search for a word in every item)
stops and runs again in a thread, where the GIL is let go for the whole of SQLite's work. On
PostgreSQL, whose reads wait on the network, or with the setting at 0, it runs in a thread as
any synchronous endpoint does.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from curation.errors import ReadOverBudget
from curation.services import Curation
from curation.storage.budget import read_budget, reads_in_process

__all__ = ["inline_budget", "quick_read"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def inline_budget(domain: Curation) -> float:
    """Seconds a read may run on the event loop, or 0: in a thread."""
    if not reads_in_process(domain.engine):
        return 0.0
    return domain.settings.api_inline_read_ms / 1000


def quick_read(endpoint: Callable[..., T]) -> Callable[..., Any]:
    """``endpoint`` (synchronous, with a ``domain`` parameter) as an async endpoint that runs
    it on the event loop under a read budget, or in a thread (see the module docstring)."""
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__name__}: quick_read takes a synchronous endpoint")
    if "domain" not in inspect.signature(endpoint).parameters:
        raise TypeError(f"{endpoint.__name__}: quick_read needs a `domain` parameter")

    @functools.wraps(endpoint)
    async def run(**kwargs: Any) -> T:  # FastAPI passes every argument by name
        budget = inline_budget(kwargs["domain"])
        if budget:
            try:
                with read_budget(budget):
                    return endpoint(**kwargs)
            except ReadOverBudget:
                log.debug("%s ran past %.0f ms: again in a thread", endpoint.__name__, budget * 1e3)
        return await run_in_threadpool(functools.partial(endpoint, **kwargs))

    run.quick_read = True  # type: ignore[attr-defined]
    return run
