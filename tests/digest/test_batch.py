"""The daily batch in chunks (issue 16), on SQLite and PostgreSQL: chunks give the digests each
person would get alone, a concurrent builder never doubles a digest, ``person_ids`` limits the
work, and digests are sent while later chunks are built, each once even when SMTP fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from curation.digest.view import DigestView
from curation.mail.deliver import DeliveryPipeline
from curation.mail.transport import SMTPTransport
from curation.people.records import NewPerson, PersonRecord
from curation.services import Curation, make_curation
from curation.storage.feeds import Store
from curation.storage.gems import GemStore
from curation.storage.tables import Digest, DigestItem
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import settings_for
from tests.helpers.smtp import MailServer

DAY1 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
INTERESTS = [
    [("python testing", 1.0)],
    [("garden tomatoes", 1.0)],
    [("team leadership", 1.0), ("python", 0.5)],
    [("python testing", 1.0), ("garden", 0.7)],
    [("leadership feedback", 1.0)],
    [("growing vegetables", 1.0), ("coaching", 0.4)],
    [("pytest fixtures", 1.0)],
]


World = tuple[Store, FeedServer, Path]


def _curation(world: World, chunk: int) -> Curation:
    store, _, tmp = world
    settings = settings_for(
        store, digest_max_items=3, digest_chunk_people=chunk, outbox_dir=str(tmp / "outbox")
    )
    return make_curation(settings, engine=store.engine)


def _ingest(c: Curation, server: FeedServer, prefix: str, now: datetime, n: int = 4) -> None:
    pub = (now - timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    c.store.add_source(server.add(f"/{prefix}", body=rss(prefix, topic_items(prefix, n, pub=pub))))
    c.ingest(now=now)


def _people(c: Curation, count: int = len(INTERESTS)) -> list[PersonRecord]:
    return [
        c.people.create(
            NewPerson(
                email=f"p{n}@example.org",
                name=f"Person {n}",
                interests=INTERESTS[n % len(INTERESTS)],
                mutes=["vegetables"] if n == 3 else [],
            )
        )[0]
        for n in range(count)
    ]


def _content(view: DigestView) -> tuple:
    """What a person reads: every section's entries (item, score, why, gem), not the row id."""
    return tuple(
        (s.key, tuple((e.item, e.score, e.why, e.gem) for e in s.items)) for s in view.sections
    )


@pytest.fixture
def world(any_store: Store, feed_server: FeedServer, tmp_path: Path) -> World:
    return any_store, feed_server, tmp_path


def test_chunks_give_the_digest_each_person_would_get_alone(world: World) -> None:
    """Two days, so that windows differ (a second digest from yesterday's on, a first one over
    the last 24 hours), with feedback, a mute and a gem: every chunked digest equals the
    person's own preview."""
    store, server, _ = world
    c = _curation(world, chunk=3)
    _ingest(c, server, "d1", DAY1 - timedelta(hours=2))
    people = _people(c, 5)
    assert len(c.digests.build_due(DAY1)) == 5
    _ingest(c, server, "mid", DAY1 + timedelta(minutes=30))  # new to the first five only
    _ingest(c, server, "d2", DAY2 - timedelta(hours=2))
    now = DAY2 + timedelta(hours=1)
    people += [
        c.people.create(NewPerson(email=f"q{n}@example.org", name="Q", interests=INTERESTS[n]))[0]
        for n in (5, 6, 0)
    ]  # new people: a first digest, over the last 24 hours
    top = c.digests.recommendations(people[0], now=now).items[0].item.id
    c.people.record_feedback(people[0].id, top, "not_useful")
    curator, _ = c.people.create(NewPerson(email="cur@example.org", name="Cur", role="curator"))
    GemStore(store.engine).create(
        item_id=top, curator_id=curator.id, note="Read this", audience=["python"]
    )
    people = c.people.many([p.id for p in people] + [curator.id])  # the curator too (empty)
    alone = {p.id: c.digests.preview(p, "2026-11-03", now) for p in people}

    built = {v.person_id: v for v in _curation(world, chunk=3).digests.build_due(now)}

    assert set(built) == {p.id for p in people}
    assert all(_content(built[p.id]) == _content(alone[p.id]) for p in people)
    assert sum(v.item_count for v in built.values()) > 0
    gems = [e for v in built.values() for s in v.sections if s.key == "gems" for e in s.items]
    assert gems and all(e.gem.note == "Read this" for e in gems)
    for_you = next(s for s in built[people[0].id].sections if s.key == "for_you")
    assert top not in [e.item.id for e in for_you.items]  # judged not useful


def test_a_concurrent_builder_never_doubles_a_digest(world: World) -> None:
    store, server, _ = world
    c = _curation(world, chunk=2)
    _ingest(c, server, "d1", DAY1 - timedelta(hours=2))
    people = _people(c)
    results: list[list[DigestView]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def build(chunk: int) -> None:
        try:
            start.wait(timeout=10)
            results.append(_curation(world, chunk=chunk).digests.build_due(DAY1))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(k,)) for k in (2, 3, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with store.engine.connect() as conn:
        per_person = conn.execute(
            select(Digest.person_id, func.count()).group_by(Digest.person_id)
        ).all()
        lines = conn.execute(select(func.count()).select_from(DigestItem)).scalar_one()
    assert sorted(per_person) == sorted((p.id, 1) for p in people)
    recorded = {v.person_id: v for v in c.digests.build_due(DAY1 + timedelta(minutes=1))}
    assert recorded == {}  # nothing left to build
    stored = {p.id: c.digests.for_date(p.id, "2026-11-02") for p in people}
    # every builder returned the one recorded digest (the losers read the winner's)
    assert all(v == stored[v.person_id] for views in results for v in views)
    assert lines == sum(v.item_count for v in stored.values())


def test_person_ids_limit_the_work(world: World) -> None:
    store, server, _ = world
    c = _curation(world, chunk=2)
    _ingest(c, server, "d1", DAY1 - timedelta(hours=2))
    a, b, d = _people(c, 3)
    built = c.digests.build_due(DAY1, person_ids=[a.id, d.id, 10_000])
    assert sorted(v.person_id for v in built) == [a.id, d.id]
    assert c.digests.rows.get(b.id, "2026-11-02") is None
    run = c.run_digests(DAY1, person_ids=[b.id])
    assert run.built == 1 and c.digests.rows.get(b.id, "2026-11-02") is not None
    assert c.run_digests(DAY1, person_ids=[]).built == 0


def _wait(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_each_chunk_is_sent_while_the_next_is_built(world: World) -> None:
    """The chunk callback waits until the server has the chunk's messages: that only
    returns when sending runs alongside building (not after it)."""
    store, server, _ = world
    c = _curation(world, chunk=3)
    _ingest(c, server, "d1", DAY1 - timedelta(hours=2))
    people = {p.id: p.email for p in _people(c)}
    chunks_sent: list[bool] = []
    with MailServer() as smtp, SMTPTransport(smtp.url, sender="d@localhost", timeout=5) as t:
        with DeliveryPipeline(c.engine, c.settings, now=DAY1, transport=t) as sending:

            def recorded(views: list[DigestView]) -> None:
                sending.ready()
                wanted = {people[v.person_id] for v in views if v.item_count}
                chunks_sent.append(_wait(lambda: wanted <= set(smtp.handler.by_recipient())))

            built = c.digests.build_due(DAY1, on_chunk=recorded)
        counts = smtp.handler.by_recipient()
    assert len(chunks_sent) == 3 and all(chunks_sent)
    assert counts == {people[v.person_id]: 1 for v in built if v.item_count}
    assert sending.report.sent == len(counts)


@pytest.mark.parametrize("fault", ["421", "drop", "451"])
def test_the_pipeline_delivers_every_digest_once_when_smtp_fails_midway(
    world: World,
    fault: str,
) -> None:
    store, server, _ = world
    c = _curation(world, chunk=2)
    _ingest(c, server, "d1", DAY1 - timedelta(hours=2))
    people = {p.id: p.email for p in _people(c)}
    with MailServer() as smtp:
        smtp.handler.faults[3] = fault
        runs = []
        for minutes in (0, 30, 60):  # a stopped run is resumed, a retry is due after backoff
            with SMTPTransport(smtp.url, sender="d@localhost", timeout=5) as t:
                runs.append(c.run_digests(DAY1 + timedelta(minutes=minutes), transport=t))
        counts = smtp.handler.by_recipient()
    assert runs[0].built == len(people) and runs[1].built == 0
    with store.engine.connect() as conn:
        statuses = dict(conn.execute(select(Digest.person_id, Digest.email_status)).all())
    with_items = {pid for pid, status in statuses.items() if status != "empty"}
    assert with_items and all(statuses[pid] == "sent" for pid in with_items)
    assert counts == {people[pid]: 1 for pid in with_items}
    assert runs[0].delivery.stopped or runs[0].delivery.retrying or fault == "drop"


def test_a_big_batch_is_sent_by_several_processes_each_once(world: World) -> None:
    """From 200 digests in a chunk, sender processes join (outbox, from the settings)."""
    store, server, tmp = world
    c = _curation(world, chunk=250)
    c = make_curation(c.settings.model_copy(update={"email_sender_processes": 2}), engine=c.engine)
    _ingest(c, server, "d1", DAY1 - timedelta(hours=2))
    people = [
        c.people.create(
            NewPerson(email=f"m{n}@example.org", name=f"M {n}", interests=INTERESTS[n % 7])
        )[0]
        for n in range(260)
    ]
    run = c.run_digests(DAY1)
    again = c.run_digests(DAY1 + timedelta(minutes=5))
    with store.engine.connect() as conn:
        statuses = dict(conn.execute(select(Digest.id, Digest.email_status)).all())
    sent = sorted(i for i, status in statuses.items() if status == "sent")
    files = sorted(int(p.stem.split("-")[1]) for p in (tmp / "outbox").glob("*.eml"))
    assert run.built == len(people) and again.built == 0 and again.delivery.sent == 0
    assert sent and files == sent and run.delivery.sent == len(sent)
    assert set(statuses.values()) <= {"sent", "empty"}
