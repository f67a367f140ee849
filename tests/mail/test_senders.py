"""Several senders over the same due digests: who tries which digest first, and that each
digest still goes out once (claims decide), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, update

from curation.mail.deliver import DeliveryReport, _deliver, _in_order, deliver_pending
from curation.mail.render import make_renderer
from curation.mail.transport import SMTPTransport
from curation.storage.deliveries import DeliveryRows
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from tests.helpers.digests import (
    NOW,
    D,
    add_items,
    add_person,
    digest_rows,
    link_settings,
    record_digest,
)
from tests.helpers.smtp import MailServer


def test_a_sender_takes_its_share_from_the_first_a_helper_any_from_the_last() -> None:
    ids = list(range(1, 11))
    assert _in_order(ids, (0, 1)) == ids
    assert _in_order(ids, (1, 3)) == [1, 4, 7, 10]
    assert sorted(i for k in range(3) for i in _in_order(ids, (k, 3))) == ids
    assert _in_order(ids, None) == ids[::-1]  # a helper with no share of its own


def test_senders_with_shares_and_a_helper_send_each_digest_once(
    any_store: Store, engine: Engine, smtp: MailServer, tmp_path: Path
) -> None:
    settings = link_settings(engine, outbox_dir=str(tmp_path / "outbox"))
    people = PeopleStore(engine)
    item_ids = add_items(any_store, ["Story 0", "Story 1"])
    for n in range(40):
        record_digest(engine, add_person(people, n), [(i, f"Story {i}") for i in item_ids])
    render = make_renderer(settings, now=NOW)
    start = threading.Barrier(3)
    reports: list[DeliveryReport] = []

    def sender(shard: tuple[int, int] | None) -> None:
        with SMTPTransport(smtp.url, sender="digest@localhost", timeout=5) as transport:
            start.wait()
            reports.append(
                _deliver(engine, transport, settings=settings, now=NOW, render=render, shard=shard)
            )

    threads = [threading.Thread(target=sender, args=(s,)) for s in [(0, 2), (1, 2), None]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(reports) == 3 and sum(r.sent for r in reports) == 40
    assert {r["email_status"] for r in digest_rows(engine).values()} == {"sent"}
    assert smtp.handler.by_recipient() == {f"p{n}@example.org": 1 for n in range(40)}


def test_a_pass_asked_to_stop_leaves_the_rest_for_the_others(
    any_store: Store, engine: Engine, smtp: MailServer, tmp_path: Path
) -> None:
    settings = link_settings(engine, outbox_dir=str(tmp_path / "outbox"))
    people = PeopleStore(engine)
    (item,) = add_items(any_store, ["Story"])
    for n in range(6):
        record_digest(engine, add_person(people, n), [(item, "Story")])
    render = make_renderer(settings, now=NOW)
    asked = []

    def stop() -> bool:  # the sender processes are ready after two digests
        asked.append(1)
        return len(asked) > 2

    with SMTPTransport(smtp.url, sender="digest@localhost", timeout=5) as transport:
        first = _deliver(
            engine, transport, settings=settings, now=NOW, render=render, shard=None, stop=stop
        )
        statuses = [r["email_status"] for r in digest_rows(engine).values()]
        assert first.sent == 2 and statuses == ["pending"] * 4 + ["sent"] * 2  # the last two
        rest = _deliver(engine, transport, settings=settings, now=NOW, render=render)
    assert rest.sent == 4
    assert smtp.handler.by_recipient() == {f"p{n}@example.org": 1 for n in range(6)}


def test_rows_taken_by_another_sender_are_not_tried_one_by_one(
    any_store: Store, engine: Engine, smtp: MailServer, tmp_path: Path, monkeypatch
) -> None:
    """After a lost claim the pass reads what is still due, skipping what others hold."""
    settings = link_settings(engine, outbox_dir=str(tmp_path / "outbox"))
    people = PeopleStore(engine)
    (item,) = add_items(any_store, ["Story"])
    ids = [record_digest(engine, add_person(people, n), [(item, "Story")]).id for n in range(6)]
    real = make_renderer(settings, now=NOW)

    def render(view, person):  # noqa: ANN001, ANN202 - meanwhile another sender claims 2-5
        if view.id == ids[0]:
            with engine.begin() as conn:
                conn.execute(
                    update(D)
                    .where(D.c.id.in_(ids[1:5]))
                    .values(email_status="sending", email_next_attempt_at=NOW + timedelta(hours=1))
                )
        return real(view, person)

    claims: list[int] = []
    claim = DeliveryRows.claim
    monkeypatch.setattr(
        DeliveryRows, "claim", lambda self, i, **kw: claims.append(i) or claim(self, i, **kw)
    )
    with SMTPTransport(smtp.url, sender="digest@localhost", timeout=5) as transport:
        report = _deliver(engine, transport, settings=settings, now=NOW, render=render)
    assert report.sent == 2 and claims == [ids[0], ids[1], ids[5]]


def test_delivery_lanes_each_send_their_own_share(
    any_store: Store, engine: Engine, smtp: MailServer, tmp_path: Path
) -> None:
    """What each of the e-mail delivery jobs' lanes runs: only the digests whose id modulo the
    number of lanes is its own; all lanes together send every digest once."""
    settings = link_settings(engine, outbox_dir=str(tmp_path / "outbox"))
    people = PeopleStore(engine)
    (item,) = add_items(any_store, ["Story"])
    for n in range(7):
        record_digest(engine, add_person(people, n), [(item, "Story")])
    with SMTPTransport(smtp.url, sender="digest@localhost", timeout=5) as transport:
        first = deliver_pending(engine, settings, now=NOW, transport=transport, shard=(1, 3))
        rows = digest_rows(engine)
        assert {i for i, r in rows.items() if r["email_status"] == "sent"} == {
            i for i in rows if i % 3 == 1
        }
        assert first.sent == len([i for i in rows if i % 3 == 1]) > 0
        for k in (0, 2):
            deliver_pending(engine, settings, now=NOW, transport=transport, shard=(k, 3))
    assert {r["email_status"] for r in digest_rows(engine).values()} == {"sent"}
    assert smtp.handler.by_recipient() == {f"p{n}@example.org": 1 for n in range(7)}
