"""xAPI statements sent to a real learning record store: Ralph, on loopback, in its own
virtualenv (tests/helpers/ralph.py). Every statement arrives once, read back from Ralph, even
when the LRS dies after the first batch (failures recorded, nothing lost) and comes back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from curation.storage.tables import XapiOutbox
from curation.xapi.client import XapiClient
from curation.xapi.outbox import flush
from tests.helpers.cli import clean_env, run
from tests.helpers.ralph import PASSWORD, USER, RalphLRS
from tests.helpers.settings import db_url
from tests.xapi.conftest import NOW, make_world

T = XapiOutbox.__table__
BATCH = 4


class DiesAfterFirstBatch(XapiClient):
    """Our client, with the LRS killed right after it accepted the first batch."""

    def __init__(self, lrs: RalphLRS, **kw: object) -> None:
        super().__init__(lrs.url, user=USER, password=PASSWORD, timeout=5, **kw)
        self.lrs = lrs
        self.posts: list[int] = []

    def post(self, bodies):  # noqa: ANN001, ANN201
        result = super().post(bodies)
        self.posts.append(result.status)
        if len(self.posts) == 1:
            self.lrs.stop()
        return result


def lrs_client(lrs: RalphLRS) -> XapiClient:
    return XapiClient(lrs.url, user=USER, password=PASSWORD, timeout=5)


def outbox(engine) -> dict[str, tuple[str, int, str | None]]:  # noqa: ANN001
    with engine.connect() as conn:
        rows = conn.execute(select(T.c.statement_id, T.c.state, T.c.attempts, T.c.last_error))
        return {sid: (state, attempts, error) for sid, state, attempts, error in rows}


def test_every_statement_reaches_ralph_once_across_a_crash(any_store, tmp_path) -> None:
    lrs = RalphLRS(tmp_path)  # skips when Ralph is not installed
    world = make_world(
        any_store, xapi_batch_size=BATCH, xapi_url=lrs.url, xapi_user=USER, xapi_password=PASSWORD
    )
    ada, bob = world.people
    world.digest(ada, "2026-12-01", world.items[:4])
    world.digest(bob, "2026-12-01", world.items[2:6])
    world.react(ada, world.items[0], "useful")
    world.react(bob, world.items[3], "not_useful")
    store = world.domain.xapi.store
    total = world.domain.xapi.collect(NOW).queued
    assert total == 10
    engine = world.domain.engine
    try:
        lrs.start()
        client = DiesAfterFirstBatch(lrs)
        report = flush(store, client, now=NOW, batch=BATCH)
        # the first batch was accepted, the second met a dead LRS: recorded, the rest waits
        assert client.posts == [200, 0]
        assert (report.sent, report.failed) == (BATCH, BATCH)
        states = outbox(engine)
        assert sum(1 for s, _, _ in states.values() if s == "sent") == BATCH
        failed = [v for v in states.values() if v[1] == 1]
        assert len(failed) == BATCH and all(v[0] == "pending" and v[2] for v in failed)

        # backoff: not retried at once; retried later, still down: a second failure recorded
        rest = flush(store, client, now=NOW, batch=BATCH)  # only the 2 never tried are due
        assert (rest.batches, rest.failed) == (1, 2)
        later = NOW + timedelta(hours=1)
        down = flush(store, client, now=later, batch=BATCH)
        assert down.sent == 0 and down.failed == BATCH
        assert max(a for _, a, _ in outbox(engine).values()) == 2

        lrs.start()  # back, on the same port and files
        up = world.domain.xapi.run(NOW + timedelta(days=1))  # the service's own client
        assert up.flushed is not None and up.flushed.failed == 0
        assert up.pending == 0
        stored = lrs.statements()
        ids = [s["id"] for s in stored]
        assert len(ids) == total and set(ids) == set(outbox(engine))  # each exactly once

        # a lost answer: the LRS stored a batch but we never heard; sent again, the LRS
        # recognises the ids (Ralph answers 204), they are marked sent and stored once
        with engine.begin() as conn:
            conn.execute(T.update().values(state="pending", next_attempt_at=None))
        resent = flush(store, lrs_client(lrs), now=NOW + timedelta(days=2), batch=BATCH)
        assert (resent.sent, resent.failed) == (total, 0)
        assert len(lrs.statements()) == total

        # `curation xapi flush`: a new reaction is collected and sent by the command line
        world.react(ada, world.items[1], "saved")
        env = clean_env(
            CURATION_DATABASE_URL=db_url(engine),
            CURATION_PUBLIC_BASE_URL="https://curation.example.org",
            CURATION_XAPI_URL=lrs.url,
            CURATION_XAPI_USER=USER,
            CURATION_XAPI_PASSWORD=PASSWORD,
        )
        out = run(["xapi", "flush"], env)
        assert "1 statements queued" in out.stdout and "1 statements sent" in out.stdout
        saved = [s for s in lrs.statements() if s["verb"]["id"].endswith("/save")]
        assert len(saved) == 1 and saved[0]["actor"]["account"]["name"] == str(ada)
        assert len(lrs.statements()) == total + 1
    finally:
        lrs.stop()
        world.domain.close()


def test_a_wrong_password_loses_nothing(store, tmp_path) -> None:
    lrs = RalphLRS(tmp_path)
    world = make_world(store, xapi_batch_size=BATCH)
    world.digest(world.people[0], "2026-12-01", world.items[:2])
    try:
        with lrs:
            bad = XapiClient(lrs.url, user=USER, password="not-it", timeout=5)
            store = world.domain.xapi.store
            world.domain.xapi.collect(NOW)
            report = flush(store, bad, now=NOW, batch=BATCH)
            assert report.failed == 2 and "401" in (report.error or "")
            assert lrs.statements() == []
            good = XapiClient(lrs.url, user=USER, password=PASSWORD, timeout=5)
            assert flush(store, good, now=NOW + timedelta(days=1), batch=BATCH).sent == 2
            assert len(lrs.statements()) == 2
    finally:
        world.domain.close()
