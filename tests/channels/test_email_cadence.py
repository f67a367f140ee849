"""The e-mail channel's cadence: digests are still recorded every day (the API shows them), and
the e-mail goes out only on the person's cadence days, once; other days are ``skipped`` with
the reason. On SQLite and PostgreSQL (the weekday is computed by each backend's SQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from curation.channels.cadence import days_mask
from curation.mail.deliver import deliver_pending
from curation.mail.transport import SMTPTransport
from curation.storage.channels import ChannelSpec, ChannelStore
from curation.storage.people import PeopleStore
from tests.helpers.digests import NOW, add_person, digest_rows, link_settings, record_digest
from tests.helpers.smtp import MailServer

# Thursday 5 … Monday 9 November 2026
DAYS = ("2026-11-05", "2026-11-06", "2026-11-07", "2026-11-08", "2026-11-09")


def email(cadence: str, weekday: int | None = None) -> ChannelSpec:
    return ChannelSpec("email", None, cadence, weekday, days_mask(cadence, weekday))


def send(engine: Engine, smtp: MailServer, tmp_path) -> None:  # noqa: ANN001
    settings = link_settings(engine, outbox_dir=str(tmp_path / "outbox"))
    with SMTPTransport(smtp.url, sender="digest@localhost", timeout=5) as transport:
        for n in range(2):  # a second run sends nothing more
            deliver_pending(engine, settings, now=NOW + timedelta(days=8 + n), transport=transport)


def test_email_goes_out_on_the_cadence_days_only(
    engine: Engine, smtp: MailServer, tmp_path
) -> None:  # noqa: ANN001
    people = PeopleStore(engine)
    weekdays, weekly, daily = (add_person(people, n) for n in range(3))
    channels = ChannelStore(engine)
    channels.replace(weekdays.id, [email("weekdays")], now=NOW)
    channels.replace(weekly.id, [email("weekly", 6)], now=NOW)  # Sundays
    for person in (weekdays, weekly, daily):  # daily: no e-mail channel at all
        for day in DAYS:
            record_digest(engine, person, [(1, f"On {day}")], day=day)
    send(engine, smtp, tmp_path)
    got = smtp.handler.by_recipient()
    assert got == {weekdays.email: 3, weekly.email: 1, daily.email: 5}
    rows = digest_rows(engine).values()
    by = {(r["person_id"], r["day"]): r for r in rows}
    assert [by[(weekdays.id, d)]["email_status"] for d in DAYS] == [
        "sent",
        "sent",
        "skipped",
        "skipped",
        "sent",
    ]
    assert "cadence" in by[(weekdays.id, "2026-11-07")]["email_error"]
    assert [by[(weekly.id, d)]["email_status"] for d in DAYS] == [
        "skipped",
        "skipped",
        "skipped",
        "sent",
        "skipped",
    ]
    assert len(rows) == 15  # every digest is still recorded
