"""`curation run` as a real subprocess: it serves the API, ingests local feeds on its schedule,
and writes a due digest to the outbox."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path

from tests.helpers.cli import add_person, clean_env, curation_cmd, get_json
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.net import free_port


def test_run_serves_ingests_and_mails_a_due_digest(tmp_path: Path, feed_server: FeedServer) -> None:
    env = clean_env(
        CURATION_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        CURATION_FETCH_ALLOW_HOSTS="127.0.0.1",
        CURATION_OUTBOX_DIR=str(tmp_path / "outbox"),
        CURATION_SECRET_KEY_FILE=str(tmp_path / "secret"),
        CURATION_SCHEDULER_TICK_SECONDS="1",
    )
    fresh = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    feed = feed_server.add("/feed", body=rss("Mixed", topic_items("run", 6, pub=fresh)))
    cmd = curation_cmd()
    subprocess.run([*cmd, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*cmd, "sources", "add", feed], env=env, check=True, capture_output=True)
    key = add_person(
        env,
        *("--email", "ada@example.org", "--name", "Ada"),
        *("--digest-hour", "0", "--interest", "python testing"),
    )
    port = free_port()
    proc = subprocess.Popen(
        [*cmd, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        outbox = tmp_path / "outbox"
        deadline = time.monotonic() + 90
        mails: list[Path] = []
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"curation run exited: {proc.stdout.read()}")
            mails = sorted(outbox.glob("*.eml")) if outbox.exists() else []
            if mails:
                break
            time.sleep(0.5)
        assert mails, "no digest e-mail was written to the outbox"
        assert get_json(f"{base}/healthz") == (200, {"status": "ok"})
        assert feed_server.hits("/feed"), "the scheduler did not ingest the feed"
        msg = BytesParser(policy=policy.default).parse(mails[0].open("rb"))
        assert msg["To"].addresses[0].addr_spec == "ada@example.org"
        text = msg.get_body(("plain",)).get_content()
        assert "Python testing with pytest" in text
        status, digest = get_json(f"{base}/v1/me/digest", key)
        assert status == 200 and digest["sections"][0]["items"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
