"""Slow clients against the real server (issue 17, class 8): `curation run` on loopback closes a
connection whose request headers do not arrive within ``CURATION_API_HEADER_TIMEOUT``, whether
they come one byte at a time or not at all; ordinary keep-alive clients are unaffected. The
same served process logs each request's lines with its ``X-Request-ID``."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.cli import clean_env, curation_cmd, get_json
from tests.helpers.net import free_port

HEADER_TIMEOUT = 1.0
BOUND = HEADER_TIMEOUT + 3.0  # closed by then; without the deadline it stays open for ever


@dataclass
class Served:
    port: int
    proc: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("slow")
    env = clean_env(
        CURATION_DATABASE_URL=f"sqlite:///{tmp / 'run.db'}",
        CURATION_DEFAULT_SOURCES="-",
        CURATION_SECRET_KEY_FILE=str(tmp / "secret"),
        CURATION_OUTBOX_DIR=str(tmp / "outbox"),
        CURATION_SCHEDULER_TICK_SECONDS="3600",
        CURATION_API_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        CURATION_LOG_FORMAT="json",
    )
    subprocess.run([*curation_cmd(), "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    log = tmp / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*curation_cmd(), "run", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if get_json(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "curation run did not start"
            time.sleep(0.2)
        yield Served(port, proc, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def closed_within(sock: socket.socket, seconds: float, dribble: bytes = b"") -> float | None:
    """Send ``dribble`` one byte every 0.2 s (then nothing) until the server closes the
    connection; how long that took, or None if it was still open after ``seconds``."""
    started = time.monotonic()
    sock.settimeout(0.2)
    sent = 0
    while time.monotonic() - started < seconds:
        try:
            if sent < len(dribble):
                sock.sendall(dribble[sent : sent + 1])
                sent += 1
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:  # reset or broken pipe: closed as well
            return time.monotonic() - started
    return None


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers, then Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def test_headers_sent_a_byte_at_a_time_are_cut_off(served: Served) -> None:
    slow = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        took = closed_within(sock, BOUND, slow)
    assert took is not None, f"a 1-byte-per-0.2-s client kept its connection past {BOUND} s"
    assert took >= HEADER_TIMEOUT * 0.9


def test_a_connection_that_sends_nothing_is_closed(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        assert closed_within(sock, BOUND) is not None


def test_the_deadline_applies_again_after_each_response(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        took = closed_within(sock, BOUND, b"GET /healthz HTTP/1.1\r\nX-Pad: " + b"b" * 100)
    assert took is not None


def test_keep_alive_clients_are_served(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.settimeout(5)
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(HEADER_TIMEOUT * 0.6)  # idle, but less than the deadline each time


def test_each_log_line_of_a_request_carries_its_id(served: Served) -> None:
    request = (
        b"GET /v1/no-such-thing HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"X-Request-ID: slow-client-test-42\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.settimeout(5)
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"x-request-id: slow-client-test-42" in head.lower()
    assert json.loads(body)["request_id"] == "slow-client-test-42"
    deadline = time.monotonic() + 5
    tagged: list[dict] = []
    while not tagged and time.monotonic() < deadline:
        lines = [json.loads(x) for x in served.log.read_text().splitlines() if x.startswith("{")]
        tagged = [x for x in lines if x.get("request_id") == "slow-client-test-42"]
        time.sleep(0.1)
    assert tagged, "no log line carries the request's id"
    assert any("/v1/no-such-thing" in x["message"] for x in tagged)  # the access line
