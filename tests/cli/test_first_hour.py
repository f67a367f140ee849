"""A newcomer's first hour, as the README tells it, on a free port with local feeds.

`curation run` starts on an empty database and imports its default sources (here a local OPML
whose feeds are served on loopback, held back until the test lets them go); a person is added
with the README's command and asks for the digest *before* the first ingest has finished; then
the ingest completes, and the digest, the recommendations and the e-mail in the outbox hold real
items, and the e-mail's links, followed with an HTTP client, reach the running service.
"""

from __future__ import annotations

import html
import re
import signal
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.helpers.cli import clean_env, curation_cmd, get_json
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.net import free_port


def _wait(check, seconds: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_first_hour_from_run_to_a_real_digest_email(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    started = time.monotonic()
    gate = threading.Event()
    fresh = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    feeds = [
        feed_server.add(f"/{name}.xml", body=rss(name, topic_items(name, 4, pub=fresh)), gate=gate)
        for name in ("alpha", "beta")
    ]
    opml = tmp_path / "local.opml"
    outlines = "".join(f'<outline text="{u}" type="rss" xmlUrl="{u}"/>' for u in feeds)
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>')
    env = clean_env(
        CURATION_DATABASE_URL=f"sqlite:///{tmp_path / 'curation.db'}",
        CURATION_DEFAULT_SOURCES=str(opml),
        CURATION_FETCH_ALLOW_HOSTS="127.0.0.1",
        CURATION_OUTBOX_DIR=str(tmp_path / "outbox"),
        CURATION_SECRET_KEY_FILE=str(tmp_path / "curation.secret"),
        CURATION_SCHEDULER_TICK_SECONDS="1",
    )
    cmd = curation_cmd()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen([*cmd, "run", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        _wait(lambda: _healthy(base), 60, "the service to answer")
        added = subprocess.run(
            [
                *cmd,
                "people",
                "add",
                "--email",
                "you@example.org",
                "--name",
                "You",
                "--role",
                "admin",
                "--interest",
                "python testing:2",
                "--interest",
                "team leadership",
                "--digest-hour",
                "0",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = re.search(r"cur_\S+", added.stdout)[0]

        # before the first ingest has finished (the feeds are held back)
        assert not feed_server.hits("/alpha.xml") or not gate.is_set()
        status, early = get_json(f"{base}/v1/me/digest", key)
        assert status == 200 and early["status"] == "recorded"
        assert sum(len(s["items"]) for s in early["sections"]) == 0
        assert early["note"]  # says why it is empty

        gate.set()  # the first ingest completes
        outbox = tmp_path / "outbox"
        mails = _wait(lambda: sorted(outbox.glob("*.eml")), 90, "the digest e-mail")

        _, digest = get_json(f"{base}/v1/me/digest", key)
        items = [e["item"] for s in digest["sections"] for e in s["items"]]
        assert items and all(i["url"].startswith("https://") for i in items)
        _, recs = get_json(f"{base}/v1/me/recommendations?limit=5", key)
        assert recs["items"]

        message = BytesParser(policy=policy.default).parse(mails[0].open("rb"))
        assert message["To"].addresses[0].addr_spec == "you@example.org"
        text = message.get_body(("plain",)).get_content()
        assert items[0]["title"] in text
        links = re.findall(r"https?://\S+/v1/email/\S+", text)
        assert links, text
        for link in links:
            parts = urlsplit(link)
            assert f"{parts.scheme}://{parts.netloc}" == base  # the links point home
        useful = next(u for u in links if "feedback" in u)
        with urllib.request.urlopen(useful, timeout=10) as answer:  # followed like a browser
            page = answer.read().decode()
        # following the link only asks (issue 17: mail scanners follow links); its button acts
        assert answer.status == 200 and "More like this?" in page
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))
        token = html.unescape(re.search(r'name="token" value="([^"]+)"', page).group(1))
        posted = urllib.request.Request(
            base + action, data=urlencode({"token": token}).encode(), method="POST"
        )
        with urllib.request.urlopen(posted, timeout=10) as answer:  # the button, pressed
            assert answer.status == 200 and b"Noted" in answer.read()
        unsubscribe = message["List-Unsubscribe"]
        assert base in unsubscribe
        print(
            f"first hour: from `curation run` to a real digest e-mail in "
            f"{time.monotonic() - started:.1f} s"
        )
    finally:
        gate.set()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _healthy(base: str) -> bool:
    try:
        return get_json(f"{base}/healthz")[0] == 200
    except OSError:
        return False
