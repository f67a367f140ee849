"""For the browser tests: the real app served by uvicorn on a loopback port (in a thread, on a
real SQLite file), Debian's Chromium driven by Playwright, and screenshots kept for the lead.

Playwright's own browser download is never used: Chromium is ``/usr/bin/chromium``
(``apt-get install chromium``; ``.ci/run`` installs it when missing), and the tests skip
saying so when it is absent. Playwright's sync API runs an event loop in the calling thread
while it is started, so the tests start it per module and stop it after (a session-wide one
would break later tests that run an event loop of their own).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from app.main import create_app
from curation.settings import Settings
from tests.helpers.net import free_port
from tests.helpers.paths import ROOT

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium)"
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"


@contextmanager
def live_app(settings: Settings) -> Iterator[str]:
    """Serve ``create_app(settings)`` on ``settings.api_port``; yields its base URL."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=settings.api_port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.api_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def port() -> int:
    return free_port()


def screenshot(page, tmp_path: Path, name: str) -> Path:  # noqa: ANN001 - a Playwright page
    """Save a full-page screenshot under the test's tmp dir and copy it to
    ``.artifacts/screenshots/`` (git-ignored) so it can be cited after the run."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)
    return path


@contextmanager
def chromium_browser() -> Iterator[object]:
    """Debian's Chromium, launched by Playwright (one per test module; see above)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser, base_url: str) -> object:  # noqa: ANN001 - a Playwright Browser
    """A browser context on ``base_url`` with the tests' window size and timeout."""
    made = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    made.set_default_timeout(20_000)
    return made
