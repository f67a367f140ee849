"""How the app is served: uvicorn's h11 protocol, with a deadline for a request's headers.

uvicorn bounds the idle time *between* requests (``timeout_keep_alive``) but not the time a client
takes to send a request's headers: any byte it sends cancels the keep-alive timer, so a client
sending one byte a second, or connecting and sending nothing, holds a connection (and its
memory) for as long as it likes. :class:`HeaderDeadlineProtocol` gives every request
``CURATION_API_HEADER_TIMEOUT`` seconds, counted from the connection being made or the previous
response being complete, to arrive complete with its headers; then the connection is closed.
Once the headers are in, the request is the app's (``BodyLimit`` caps what follows).

:func:`server_config` is what ``curation run`` serves with; the deadline travels on the
:class:`uvicorn.Config` (``config.header_timeout``), so it reaches worker processes too.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_HEADER_TIMEOUT = 10.0


class HeaderDeadlineProtocol(H11Protocol):
    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout: float = getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT)
        self._header_deadline: asyncio.TimerHandle | None = None

    # the clock starts when the connection is made, and again after each response
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        scope = self.scope
        super().on_response_complete()
        if self.scope is scope:  # no pipelined request was started by the call above
            self._arm()

    # ...and stops when a request's headers have been read (uvicorn makes a new scope then)
    def handle_events(self) -> None:
        scope = self.scope
        super().handle_events()
        if self.scope is not scope:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        self.logger.info(
            "closing a connection from %s: no complete request headers within %g s",
            self.client[0] if self.client else "?",
            self.header_timeout,
        )
        if self.conn.our_state not in (h11.ERROR, h11.CLOSED, h11.MUST_CLOSE):
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
        self.transport.close()


def server_config(app: Any, *, host: str, port: int, header_timeout: float, **options: Any):  # noqa: ANN201
    """The :class:`uvicorn.Config` ``curation run`` serves ``app`` with."""
    config = uvicorn.Config(app, host=host, port=port, http=HeaderDeadlineProtocol, **options)
    config.header_timeout = header_timeout  # type: ignore[attr-defined]
    return config
