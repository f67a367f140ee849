"""Delivery against a real SMTP server (aiosmtpd, in-process), on SQLite and PostgreSQL.

Each fault test ends the same way: after the runs, every digest arrived exactly once.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from curation.digest.view import DigestView
from curation.mail.deliver import DeliveryReport, deliver_pending
from curation.mail.render import make_renderer
from curation.mail.transport import SMTPTransport
from curation.settings import Settings
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from tests.helpers.digests import (
    NOW,
    add_items,
    add_person,
    digest_rows,
    link_settings,
    record_digest,
)
from tests.helpers.smtp import MailServer


@pytest.fixture
def mail_settings(engine: Engine, tmp_path: Path) -> Settings:
    return link_settings(engine, outbox_dir=str(tmp_path / "outbox"))


def run(engine: Engine, settings: Settings, server: MailServer, now=NOW, render=None):
    with SMTPTransport(server.url, sender="digest@localhost", timeout=5) as transport:
        return deliver_pending(engine, settings, now=now, transport=transport, render=render)


def setup_digests(store: Store, count: int, items_each: int = 2) -> list[int]:
    """``count`` people with one pending digest each; returns the digest ids."""
    people = PeopleStore(store.engine)
    item_ids = add_items(store, [f"Story {n}" for n in range(items_each)])
    ids = []
    for n in range(count):
        person = add_person(people, n)
        view = record_digest(
            store.engine, person, [(i, f"Story {k}") for k, i in enumerate(item_ids)]
        )
        ids.append(view.id)
    return ids


def run_with_fault(
    store: Store, settings: Settings, smtp: MailServer, count: int, at: int | str, fault: str
) -> DeliveryReport:
    """``count`` pending digests, the server told to answer the ``at``-th DATA (or any DATA to
    the recipient ``at``) with ``fault`` (see :class:`tests.helpers.smtp.Handler`), one run."""
    setup_digests(store, count)
    smtp.handler.faults[at] = fault
    return run(store.engine, settings, smtp)


def statuses(engine: Engine) -> list[str]:
    return [r["email_status"] for r in digest_rows(engine).values()]


def assert_each_once(server: MailServer, count: int) -> None:
    assert server.handler.by_recipient() == {f"p{n}@example.org": 1 for n in range(count)}


# ---- the happy path ------------------------------------------------------------------------------


def test_sends_due_digests_once_with_content_and_headers(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    people = PeopleStore(engine)
    items = add_items(any_store, ["Alpha <b>bold</b>", "Beta & co", "Gamma"])
    ada = add_person(people, 0, "Ada\r\nBcc: evil@example.org")
    bob = add_person(people, 1, "Bob")
    eve = add_person(people, 2, "Eve")
    record_digest(engine, ada, [(items[0], "Alpha <b>bold</b>"), (items[1], "Beta & co")])
    record_digest(engine, bob, [(items[2], "Gamma")], gem_note=None)
    record_digest(engine, eve, [])  # nothing new today: no e-mail

    report = run(engine, mail_settings, smtp)

    assert report == DeliveryReport(sent=2, empty=1)
    assert [(r.mail_from, r.rcpt_tos) for r in smtp.received] == [
        ("digest@localhost", ["p0@example.org"]),
        ("digest@localhost", ["p1@example.org"]),
    ]
    msg = smtp.received[0].message
    assert msg["Subject"] == "Your digest for 2 Nov: 2 items"
    assert msg["Bcc"] is None and [a.addr_spec for a in msg["To"].addresses] == ["p0@example.org"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"].startswith("<http://testserver/v1/email/unsubscribe?token=")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Alpha <b>bold</b>" in text and "Beta & co" in text
    assert "Alpha &lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold" not in html
    assert "Start with this one." in text and "Start with this one." in html
    assert "matches your interest in testing (Beta &amp; co)" in html
    rows = list(digest_rows(engine).values())
    assert [r["email_status"] for r in rows] == ["sent", "sent", "empty"]
    assert rows[0]["email_attempts"] == 1 and rows[0]["email_sent_at"] >= NOW
    assert rows[0]["email_error"] is None

    assert run(engine, mail_settings, smtp, now=NOW + timedelta(hours=1)) == DeliveryReport()
    assert len(smtp.received) == 2


def test_unsubscribed_people_get_nothing(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    ids = setup_digests(any_store, 2)
    PeopleStore(engine).update(digest_rows(engine)[ids[1]]["person_id"], email_digests=False)
    report = run(engine, mail_settings, smtp)
    assert (report.sent, report.skipped) == (1, 1)
    assert statuses(engine) == ["sent", "skipped"]
    assert smtp.handler.by_recipient() == {"p0@example.org": 1}


def test_outbox_is_the_default_and_a_rerun_adds_nothing(
    any_store: Store, engine: Engine, mail_settings: Settings
) -> None:
    ids = setup_digests(any_store, 3)
    assert deliver_pending(engine, mail_settings, now=NOW).sent == 3
    assert deliver_pending(engine, mail_settings, now=NOW + timedelta(hours=2)).sent == 0
    outbox = Path(mail_settings.outbox_dir)
    assert sorted(p.name for p in outbox.iterdir()) == sorted(f"digest-{i}.eml" for i in ids)


# ---- faults ----------------------------------------------------------------------------------


def test_451_is_retried_with_backoff_and_arrives_once(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    report = run_with_fault(any_store, mail_settings, smtp, 3, 2, "451")
    assert report == DeliveryReport(sent=2, retrying=1)
    row = list(digest_rows(engine).values())[1]
    assert row["email_status"] == "pending" and row["email_attempts"] == 1
    assert "451" in row["email_error"]
    assert row["email_next_attempt_at"] >= NOW + timedelta(minutes=5)

    assert run(engine, mail_settings, smtp, now=NOW + timedelta(minutes=2)).sent == 0  # waiting
    assert run(engine, mail_settings, smtp, now=NOW + timedelta(minutes=6)).sent == 1
    assert statuses(engine) == ["sent", "sent", "sent"]
    assert list(digest_rows(engine).values())[1]["email_attempts"] == 2
    assert_each_once(smtp, 3)


def test_554_is_recorded_as_permanent_and_never_retried(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    report = run_with_fault(any_store, mail_settings, smtp, 3, "p1@example.org", "554")
    assert report == DeliveryReport(sent=2, failed=1)
    row = list(digest_rows(engine).values())[1]
    assert row["email_status"] == "failed"
    assert "554" in row["email_error"] and "spam" in row["email_error"]
    assert run(engine, mail_settings, smtp, now=NOW + timedelta(days=2)).sent == 0
    assert smtp.handler.data_commands == 3  # tried once, not again
    assert smtp.handler.by_recipient() == {"p0@example.org": 1, "p2@example.org": 1}


def test_dropped_connection_mid_batch_resumes_without_loss_or_duplicate(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:

    first = run_with_fault(any_store, mail_settings, smtp, 5, 3, "drop")
    assert first == DeliveryReport(sent=4, retrying=1)  # reconnected for the 4th and 5th
    assert "lost" in list(digest_rows(engine).values())[2]["email_error"]
    second = run(engine, mail_settings, smtp, now=NOW + timedelta(minutes=10))
    assert second.sent == 1
    assert statuses(engine) == ["sent"] * 5
    assert_each_once(smtp, 5)


def test_server_down_stops_the_batch_and_the_next_run_delivers(
    any_store: Store, engine: Engine, mail_settings: Settings
) -> None:
    setup_digests(any_store, 3)
    server = MailServer()  # not started: nothing listens on its port
    report = run(engine, mail_settings, server)
    assert report.sent == 0 and report.stopped and "cannot use the SMTP server" in report.stopped
    rows = list(digest_rows(engine).values())
    assert [r["email_status"] for r in rows] == ["pending"] * 3
    assert rows[0]["email_attempts"] == 0 and rows[0]["email_error"]

    server.start()
    try:
        assert run(engine, mail_settings, server, now=NOW + timedelta(minutes=1)).sent == 3
    finally:
        server.stop()
    assert_each_once(server, 3)


def test_421_mid_batch_stops_and_the_next_run_finishes(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    report = run_with_fault(any_store, mail_settings, smtp, 4, 2, "421")
    assert report.sent == 1 and "421" in report.stopped
    assert statuses(engine) == ["sent", "pending", "pending", "pending"]
    assert run(engine, mail_settings, smtp, now=NOW + timedelta(minutes=1)).sent == 3
    assert_each_once(smtp, 4)


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def test_crash_mid_batch_resumes_after_the_lease(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    ids = setup_digests(any_store, 3)
    real = make_renderer(mail_settings, now=NOW)

    def crash_on_second(view, person):
        if view.id == ids[1]:
            raise Crash
        return real(view, person)

    with pytest.raises(Crash):
        run(engine, mail_settings, smtp, render=crash_on_second)
    assert statuses(engine) == ["sent", "sending", "pending"]

    soon = run(engine, mail_settings, smtp, now=NOW + timedelta(minutes=1))
    assert soon.sent == 1  # the third; the second is still leased to the dead run
    assert statuses(engine) == ["sent", "sending", "sent"]
    later = run(engine, mail_settings, smtp, now=NOW + timedelta(minutes=11))
    assert later.sent == 1
    assert statuses(engine) == ["sent"] * 3
    assert_each_once(smtp, 3)


def test_a_crash_after_the_server_accepted_resends_with_the_same_message_id(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    """The documented at-least-once window: accepted, then the connection died before we
    heard so. The copy is the same message (same Message-ID), so it can be recognised."""
    assert run_with_fault(any_store, mail_settings, smtp, 1, 1, "accept-drop").retrying == 1
    assert run(engine, mail_settings, smtp, now=NOW + timedelta(minutes=6)).sent == 1
    ids = [r.message["Message-ID"] for r in smtp.received]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_gives_up_after_the_last_attempt(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    settings = mail_settings.model_copy(update={"email_max_attempts": 2})
    assert run_with_fault(any_store, settings, smtp, 1, "p0@example.org", "451").retrying == 1
    assert run(engine, settings, smtp, now=NOW + timedelta(hours=1)).failed == 1
    row = list(digest_rows(engine).values())[0]
    assert row["email_status"] == "failed" and "gave up after 2 attempts" in row["email_error"]


def test_two_runs_at_once_send_each_digest_once(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    setup_digests(any_store, 30)  # more than enough for the bulk read of people
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def worker() -> None:
        start.wait()
        reports.append(run(engine, mail_settings, smtp))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r.sent for r in reports) == 30
    assert statuses(engine) == ["sent"] * 30
    assert_each_once(smtp, 30)


def test_unreadable_payload_is_failed_not_retried(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    from sqlalchemy import update

    from tests.helpers.digests import D

    ids = setup_digests(any_store, 2)
    with engine.begin() as conn:
        conn.execute(update(D).where(D.c.id == ids[0]).values(payload="{not json"))
    assert run(engine, mail_settings, smtp) == DeliveryReport(sent=1, failed=1)
    assert "unreadable" in digest_rows(engine)[ids[0]]["email_error"]


def test_rendered_links_point_at_the_configured_base(
    any_store: Store, engine: Engine, mail_settings: Settings, smtp: MailServer
) -> None:
    setup_digests(any_store, 1)
    run(engine, mail_settings, smtp)
    text = smtp.received[0].message.get_body(("plain",)).get_content()
    assert len(re.findall(r"http://testserver/v1/email/feedback\?token=", text)) == 4


def test_a_connection_closed_while_idle_is_reopened_without_a_failure(
    any_store: Store, engine: Engine, mail_settings: Settings
) -> None:
    """The server restarts between two messages of a batch: nothing was handed over on the
    dead connection, so the transport reconnects once and the message goes out."""
    ids = setup_digests(any_store, 2)
    render = make_renderer(mail_settings, now=NOW)
    rows = digest_rows(engine)
    views = [DigestView.from_json(rows[i]["payload"]) for i in ids]
    people = PeopleStore(engine)
    first = MailServer().start()
    transport = SMTPTransport(first.url, sender="digest@localhost", timeout=5)
    try:
        person = people.get(views[0].person_id)
        transport.send(render(views[0], person), to=person.email, key="digest-1")
        first.stop()
        second = MailServer(port=first.port).start()
        person = people.get(views[1].person_id)
        transport.send(render(views[1], person), to=person.email, key="digest-2")
        second.stop()
    finally:
        transport.close()
    assert [r.rcpt_tos for r in first.received + second.received] == [
        ["p0@example.org"],
        ["p1@example.org"],
    ]
