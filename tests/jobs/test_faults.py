"""The job queue under faults, with real ``curation worker`` processes on PostgreSQL: workers
SIGKILLed in the middle of a digest chunk and in the middle of a delivery, and two workers
with two schedulers at once. In the end every digest is built once and every message is
delivered once. Skipped without ``CURATION_TEST_POSTGRES_URL``."""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest

from tests.helpers.hookserver import HookServer
from tests.helpers.smtp import MailServer
from tests.jobs.cluster import Cluster, chat_kind, holding_mail_server, seed, wait_for

pytestmark = pytest.mark.postgres

PEOPLE = 60
DIGESTS = "SELECT count(*) FROM digest"
DOING_IDS = "SELECT id FROM procrastinate_jobs WHERE status = 'doing'"
SENT_STATES = "SELECT email_status, count(*) FROM digest GROUP BY email_status"


def _still_doing(cluster: Cluster, ids: list[int]) -> list[int]:
    rows = cluster.query(
        "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND id = ANY(%s)", ids
    )
    return [job_id for (job_id,) in rows]


def _all_sent(cluster: Cluster) -> bool:
    return dict(cluster.query(SENT_STATES)) == {"sent": PEOPLE}


def _assert_each_once(cluster: Cluster, server: MailServer) -> None:
    people = cluster.query("SELECT count(*), count(DISTINCT person_id) FROM digest")
    assert people == [(PEOPLE, PEOPLE)], "one digest per person and day"
    assert server.handler.by_recipient() == {f"p{n}@example.org": 1 for n in range(PEOPLE)}
    ids = [r.message["Message-ID"] for r in server.received]
    assert len(set(ids)) == PEOPLE
    assert cluster.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'") == 0


def test_workers_killed_mid_chunk_and_mid_delivery_lose_and_repeat_nothing(
    cluster: Cluster,
) -> None:
    seed(cluster.url, PEOPLE)
    hold_at = PEOPLE - 5  # held only once every digest is built: b must finish a's chunk
    server = holding_mail_server(hold_at=hold_at).start()
    try:
        cluster.env.update(
            CURATION_SMTP_URL=server.url,
            CURATION_JOBS_PEOPLE_PER_CHUNK="1000",  # one digest job for everyone
            CURATION_DIGEST_CHUNK_PEOPLE="1",  # each digest recorded in its own transaction
        )
        first = cluster.worker("a", "--no-periodic")
        assert cluster.enqueue().wait(timeout=60) == 0

        # worker a dies in the middle of the digest job: some digests recorded, not all
        built = wait_for("the first digests", lambda: cluster.scalar(DIGESTS), timeout=90)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = cluster.scalar(DIGESTS)
        assert 0 < built <= at_kill < PEOPLE, "the kill did not land inside the chunk"
        doing = cluster.query("SELECT task_name FROM procrastinate_jobs WHERE status = 'doing'")
        assert doing == [("curation.build_digests",)]

        # worker b puts the dead worker's job back, builds the rest, and delivers; it dies
        # while the server holds one message unanswered (so never accepted)
        second = cluster.worker("b", "--no-periodic")
        wait_for("the held message", lambda: server.handler.held, timeout=90)
        assert cluster.scalar(DIGESTS) == PEOPLE
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
        assert len(server.received) == hold_at - 1
        orphans = [job_id for (job_id,) in cluster.query(DOING_IDS)]
        assert orphans, "b died with no job in hand"

        # worker c puts b's delivery back (or aborts it when a round has queued the same lane
        # again: that copy runs then); the held digest waits for its lease (1 minute)
        cluster.worker("c")
        # the lease (1 min) and the stalled-worker check, plus a scheduler process per round:
        # ~40 s alone; bounded all the same
        deadline = time.monotonic() + 300
        # done when every digest is sent and no job of the dead workers is left "doing" (the
        # other lane may send the held digest before b's job is dealt with: wait for both)
        while not (_all_sent(cluster) and not _still_doing(cluster, orphans)):
            assert time.monotonic() < deadline, (
                "not every digest was delivered in time:"
                f" {cluster.query(SENT_STATES)}, still doing {_still_doing(cluster, orphans)}"
            )
            cluster.enqueue().wait(timeout=60)  # a scheduler asking again changes nothing
            time.sleep(3)
    finally:
        cluster.stop()
        server.stop()
    _assert_each_once(cluster, server)
    assert "curation.build_digests) of a dead worker put back" in cluster.log("b")
    recovered = re.findall(
        r"curation\.deliver\) of a dead worker (put back|aborted)", cluster.log("c")
    )
    assert recovered, "worker c did not deal with b's delivery job"


def _all_posted(cluster: Cluster) -> bool:
    rows = cluster.query("SELECT state, count(*) FROM channel_delivery GROUP BY state")
    return dict(rows) == {"sent": PEOPLE}


def test_two_workers_and_two_schedulers_do_each_piece_of_work_once(cluster: Cluster) -> None:
    with MailServer() as server, HookServer() as hooks:

        def webhook(n: int) -> str:
            return hooks.url(f"/{chat_kind(n)}/p{n}")

        seed(cluster.url, PEOPLE, hooks=webhook, env=cluster.env)
        cluster.env.update(
            CURATION_SMTP_URL=server.url,
            CURATION_JOBS_PEOPLE_PER_CHUNK="10",
            CURATION_DIGEST_CHUNK_PEOPLE="5",
        )
        # two schedulers at once, before any worker: each piece of work is queued once
        both = [cluster.enqueue(), cluster.enqueue()]
        assert [p.wait(timeout=60) for p in both] == [0, 0]
        locks = cluster.query("SELECT queueing_lock FROM procrastinate_jobs ORDER BY id")
        chunks = {f"curation.build_digests:{n}:{n + 9}" for n in range(0, PEOPLE + 1, 10)}
        expected = {
            "curation.ingest_shard:0:2",
            "curation.ingest_shard:1:2",
            # e-mail and each chat kind have lanes of their own (issue 14)
            "curation.deliver:email:0",
            "curation.deliver:email:1",
            "curation.deliver:slack:0",
            "curation.deliver:slack:1",
            "curation.deliver:teams:0",
            "curation.deliver:teams:1",
            "curation.refresh_insights",
            *chunks,
        }
        assert sorted(lock for (lock,) in locks) == sorted(expected)

        cluster.worker("w1")
        cluster.worker("w2")
        more: list[subprocess.Popen] = []
        try:
            deadline = time.monotonic() + 120
            while not (_all_sent(cluster) and _all_posted(cluster)):
                assert time.monotonic() < deadline, "not every digest was delivered in time"
                if len(more) < 6:
                    more += [cluster.enqueue(), cluster.enqueue()]  # two schedulers again
                time.sleep(1)
            assert [p.wait(timeout=60) for p in more] == [0] * len(more)
            # a worker recomputed the curators' insight figures and stored them for the API
            figures = "SELECT count(*) FROM insight_figures"
            wait_for("the insight figures", lambda: cluster.scalar(figures) == 3, timeout=60)
        finally:
            cluster.stop()
    _assert_each_once(cluster, server)
    # each learner's digest posted once to their own Slack or Teams webhook, by its own lane
    for n in range(PEOPLE):
        posts = hooks.accepted(f"/{chat_kind(n)}/p{n}")
        assert len(posts) == 1, f"p{n}: {len(posts)} chat posts"
        assert ("blocks" in posts[0]) == (chat_kind(n) == "slack")
    assert len(hooks.posts) == PEOPLE
    logs = cluster.log("w1") + cluster.log("w2")
    ran = set(re.findall(r"Starting job curation\.deliver\[\d+\]\([^)]*channel='(\w+)'", logs))
    assert ran == {"email", "slack", "teams"}
    for name in ("w1", "w2"):
        assert "Starting job" in cluster.log(name), f"worker {name} ran no job"
