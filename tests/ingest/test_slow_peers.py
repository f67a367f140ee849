"""Slow peers cannot hold a fetch slot past the limits, and each time-out names the limit that
fired: a server trickling its headers a byte at a time, one trickling its body, one silent."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from curation.ingest.fetch import Fetcher
from curation.ingest.records import FetchResult
from tests.helpers.settings import make_settings

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n"


class TricklingServer:
    """A loopback TCP server that answers every connection with ``script``: ``(bytes, pause)``
    steps, sent in order, then holds the connection until stopped (bounded: 30 s)."""

    def __init__(self, script: list[tuple[bytes, float]]) -> None:
        self.script = script
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                for data, pause in self.script:
                    if self.stopped.is_set():
                        return
                    if data:
                        conn.sendall(data)
                    if pause:
                        time.sleep(pause)
                self.stopped.wait(30)
            except OSError:
                return

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/feed"


@pytest.fixture
def trickle(request: pytest.FixtureRequest) -> Iterator[TricklingServer]:
    server = TricklingServer(request.param)
    server.thread.start()
    yield server
    server.stopped.set()
    server.thread.join(5)
    server.sock.close()


def _fetch(url: str, **limits: float) -> tuple[FetchResult, float]:
    settings = make_settings("sqlite://", **limits)

    async def go() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url)

    started = time.monotonic()
    result = asyncio.run(go())
    return result, time.monotonic() - started


# a status line, then one header byte every 0.1 s: never silent for a read limit
HEADERS_BYTE_BY_BYTE = [(b"HTTP/1.1 200 OK\r\n", 0.0)] + [(b"X", 0.1)] * 150
# complete headers, then 100 bytes of body every 0.1 s (the body would take 100 s)
BODY_TRICKLE = [(HEAD + b"\r\n", 0.0)] + [(b"x" * 100, 0.1)] * 150
SILENT = [(b"", 0.0)]


@pytest.mark.parametrize("trickle", [HEADERS_BYTE_BY_BYTE], indirect=True)
def test_headers_trickled_in_are_cut_at_the_headers_limit(trickle: TricklingServer) -> None:
    r, took = _fetch(
        trickle.url(),
        fetch_headers_timeout=1.0,
        fetch_read_timeout=2.0,
        fetch_total_timeout=10.0,
    )
    assert r.status == 0 and r.error == "timed out: headers not received within 1 s"
    assert took < 3.0  # the slot is free after the headers limit, not the total one


@pytest.mark.parametrize("trickle", [BODY_TRICKLE], indirect=True)
def test_a_trickled_body_is_cut_at_the_total_limit_and_says_so(trickle: TricklingServer) -> None:
    r, took = _fetch(trickle.url(), fetch_read_timeout=2.0, fetch_total_timeout=1.5)
    assert r.status == 0 and r.error is not None
    assert r.error == "timed out: body not complete within 1.5 s (the limit for a whole fetch)"
    assert took < 3.0


@pytest.mark.parametrize("trickle", [SILENT], indirect=True)
def test_a_silent_server_is_cut_at_the_read_limit_and_says_so(trickle: TricklingServer) -> None:
    r, took = _fetch(
        trickle.url(),
        fetch_read_timeout=1.0,
        fetch_headers_timeout=5.0,
        fetch_total_timeout=10.0,
    )
    assert r.error == "timed out: nothing received for 1 s while waiting for the headers"
    assert took < 3.0


@pytest.mark.parametrize("trickle", [HEADERS_BYTE_BY_BYTE], indirect=True)
def test_the_total_limit_fires_first_when_it_is_the_shorter(trickle: TricklingServer) -> None:
    r, took = _fetch(
        trickle.url(),
        fetch_headers_timeout=5.0,
        fetch_read_timeout=5.0,
        fetch_total_timeout=1.0,
    )
    assert r.error == "timed out: headers not received within 1 s (the limit for a whole fetch)"
    assert took < 3.0
