"""The real app (or any ASGI app) served by uvicorn on a loopback port, in a thread of this
process, for tests in which a real HTTP client must reach it (e.g. our own ingest subscribing
to a feed the app publishes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def served(app, port: int, *, start_seconds: float = 10) -> Iterator[None]:  # noqa: ANN001
    """Serve ``app`` on ``127.0.0.1:port`` until the block ends (then stop and join)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started:
        assert thread.is_alive(), "the app's server stopped while starting"
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
