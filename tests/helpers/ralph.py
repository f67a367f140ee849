"""A real Ralph LRS for the xAPI tests, in its own virtualenv (``.venv-ralph``, made by
``make ralph``, which ``make test`` runs first): Ralph pins FastAPI and pydantic versions of
its own, so it cannot share the project's environment.

:class:`RalphLRS` creates its credentials with ``ralph auth``, starts the server on a loopback
port (:mod:`tests.helpers.ralph_server`), stops it by its process id (as a crash would) and
starts it again on the same port and files, and reads the statements back with
``GET /xAPI/statements``. Tests that need it skip, saying why, when Ralph is not installed.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.net import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("CURATION_TEST_RALPH_VENV", ROOT / ".venv-ralph"))
SERVER = Path(__file__).with_name("ralph_server.py")
USER, PASSWORD = "lrs-user", "lrs-password-0123"
START_SECONDS = 60


def ralph_or_skip() -> Path:
    ralph = VENV / "bin" / "ralph"
    if not ralph.exists():
        pytest.skip(f"Ralph is not installed at {ralph}: run `make ralph` (make test does)")
    return ralph


class RalphLRS:
    def __init__(self, workdir: Path) -> None:
        self.ralph = ralph_or_skip()
        self.app_dir = workdir / "ralph-app"
        self.data_dir = workdir / "ralph-data"
        self.app_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/xAPI"
        self.process: subprocess.Popen | None = None
        self._env = {**os.environ, "RALPH_APP_DIR": str(self.app_dir)}
        self._log = workdir / "ralph.log"
        subprocess.run(
            [str(self.ralph), "auth", "-u", USER, "-p", PASSWORD, "-s", "all"]
            + ["-M", "mailto:lrs@example.org", "-w"],
            env={**self._env, "RALPH_RUNSERVER_BACKEND": "fs"},
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        log = self._log.open("ab")
        self.process = subprocess.Popen(
            # -I: not the script's folder on sys.path (its ralph.py would hide Ralph)
            [str(VENV / "bin" / "python"), "-I", str(SERVER), str(self.port), str(self.data_dir)],
            env=self._env,
            cwd=self.app_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process.poll() is None, self._log.read_text()[-2000:]
            try:
                self._get("/whoami")
                return
            except OSError:
                assert time.monotonic() < deadline, "Ralph did not start"
                time.sleep(0.2)

    def stop(self) -> None:
        """Kill the LRS at once (SIGKILL: no clean shutdown, as a crash)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def _get(self, path: str) -> dict:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def statements(self) -> list[dict]:
        """Every statement the LRS holds (following its ``more`` links; bounded)."""
        found: list[dict] = []
        path = "/xAPI/statements?limit=100"
        for _ in range(1000):
            page = self._get(path)
            found.extend(page["statements"])
            more = page.get("more")
            if not more:
                return found
            path = more if more.startswith("/") else "/" + more.split("/", 3)[3]
        raise AssertionError("too many pages of statements")

    def __enter__(self) -> RalphLRS:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
