"""Real ``curation worker`` / ``curation jobs enqueue`` processes over one PostgreSQL database
(:class:`Cluster`), people due now with items to rank for them (:func:`seed`), an SMTP server
that can hold a message unanswered (:class:`HoldingHandler`), and bounded waits."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from curation.channels.service import ChannelInput
from curation.jobs.connector import conninfo
from curation.people.records import NewPerson
from curation.services import make_curation
from curation.storage.feeds import FeedWrite
from tests.helpers.cli import curation_cmd
from tests.helpers.settings import make_settings
from tests.helpers.smtp import Handler, MailServer
from tests.helpers.store import clean_item

INTEREST = "python testing"


class HoldingHandler(Handler):
    """Records accepted messages like :class:`Handler`, but holds the ``hold_at``-th DATA
    without answering (``held`` is set meanwhile) and then refuses it with 451: a message
    whose sender dies while waiting for the answer was never accepted."""

    def __init__(self, hold_at: int, hold_seconds: float = 30.0) -> None:
        super().__init__()
        self.hold_at = hold_at
        self.hold_seconds = hold_seconds
        self.held = False

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self.lock:
            number = self.data_commands + 1
        if number == self.hold_at:
            with self.lock:
                self.data_commands += 1
            self.held = True
            await asyncio.sleep(self.hold_seconds)
            return "451 4.3.0 held too long"
        return await super().handle_DATA(server, session, envelope)


class Cluster:
    """Real worker processes and schedulers over one PostgreSQL database."""

    def __init__(self, url: str, env: dict[str, str], logs: Path) -> None:
        self.url = url
        self.env = env
        self.logs = logs
        self.workers: list[subprocess.Popen] = []

    def worker(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        proc = subprocess.Popen(
            [*curation_cmd(), "worker", "--name", name, *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def enqueue(self) -> subprocess.Popen:
        """``curation jobs enqueue`` in the background (wait on it with ``.wait``)."""
        return subprocess.Popen(
            [*curation_cmd(), "jobs", "enqueue"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def query(self, sql: str, *params: object) -> list[tuple]:
        with psycopg.connect(conninfo(self.url)) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: object) -> object:
        return self.query(sql, *params)[0][0]

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def wait_for(what: str, check: Callable[[], object], timeout: float, every: float = 0.05):
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def seed(
    url: str,
    people: int,
    items: int = 40,
    *,
    hooks: Callable[[int], str] | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Fresh items on one source, a fitted model, and ``people`` learners due now (UTC, digest
    hour 0) who all share one interest the items match. With ``hooks``, learner ``n`` also has a
    daily chat channel: Slack for even ``n``, Teams for odd, posting to ``hooks(n)``, its URL
    sealed with the key of the workers' environment ``env``."""
    key_file = (env or {}).get("CURATION_SECRET_KEY_FILE")
    curation = make_curation(
        make_settings(url, **({"secret_key_file": key_file} if key_file else {}))
    )
    now = datetime.now(UTC)
    # a loopback address nobody listens on, not due before tomorrow: the ingest jobs leave it
    source = curation.store.add_source("http://127.0.0.1:9/rss", title="Example Feed")
    fresh = [
        clean_item(
            f"k{n}",
            title=f"Python testing with pytest, part {n}",
            text=f"python testing pytest fixtures part {n} " * 5,
            published=now - timedelta(minutes=30 + n),
        )
        for n in range(items)
    ]
    tomorrow = now + timedelta(days=1)
    curation.store.save_feeds([FeedWrite(source.id, fresh)], now=now, next_attempt_at=tomorrow)
    assert curation.refit(), "the ranking model was not fitted"
    for n in range(people):
        person, _ = curation.people.create(
            NewPerson(
                email=f"p{n}@example.org",
                name=f"P{n}",
                digest_hour=0,
                interests=[(INTEREST, 1.0)],
            )
        )
        if hooks is not None:
            kind = chat_kind(n)
            channel = ChannelInput(kind, hooks(n), "daily")
            curation.channels.replace(person.id, [channel], now=now - timedelta(minutes=1))
    curation.close()


def chat_kind(n: int) -> str:
    """The chat channel :func:`seed` gives learner ``n``."""
    return ("slack", "teams")[n % 2]


def holding_mail_server(hold_at: int) -> MailServer:
    """An SMTP server that holds its ``hold_at``-th DATA (see :class:`HoldingHandler`)."""
    server = MailServer()
    server.handler = server.controller.handler = HoldingHandler(hold_at)
    return server
