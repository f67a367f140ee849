"""End to end over real SMTP (aiosmtpd) and the real app: Ada shares an item from her digest
e-mail with a note; her teammate Bob finds it in his next digest (API and e-mail), once, with
her name and note; Cy, in another team, never sees it."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from fastapi.testclient import TestClient

from app.main import create_app
from curation.clock import utcnow
from curation.ingest.pipeline import ingest
from curation.mail.transport import SMTPTransport
from curation.people.records import NewPerson
from curation.services import make_curation
from curation.storage.feeds import Store
from tests.helpers.digests import email_links, link_settings, path_of
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.smtp import MailServer

NOTE = "Read the part on compost — it fixed our team's tomato problem"


def _by_recipient(smtp: MailServer, since: int) -> dict[str, EmailMessage]:
    out = {}
    for received in smtp.received[since:]:
        out[received.rcpt_tos[0]] = received.message
    return out


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def test_share_from_the_email_reaches_the_teammate_once(
    any_store: Store, feed_server: FeedServer, smtp: MailServer
) -> None:
    # real time: the app checks the links against the real clock
    now = utcnow().replace(microsecond=0)
    settings = link_settings(any_store.engine, digest_max_items=5)
    pub = format_datetime(now - timedelta(hours=3))
    any_store.add_source(
        feed_server.add("/mixed", body=rss("Mixed", topic_items("d1", 4, pub=pub)))
    )
    ingest(any_store, settings, now=now - timedelta(hours=2))
    c = make_curation(settings, engine=any_store.engine)
    assert c.refit(now=now - timedelta(hours=1))

    def person(name: str, interest: str):
        return c.people.create(
            NewPerson(
                email=f"{name.lower()}@example.org",
                name=name,
                digest_hour=0,
                interests=[(interest, 1.0)],
            )
        )[0]

    ada, bob, cy = (
        person("Ada", "garden tomatoes"),
        person("Bob", "python testing"),
        person("Cy", "python testing"),
    )
    platform = c.teams.create("Platform")
    c.teams.set_members(platform.id, [ada.id, bob.id])
    c.teams.set_members(c.teams.create("Sales").id, [cy.id])

    def run(at):  # noqa: ANN001, ANN202
        start = len(smtp.received)
        with SMTPTransport(smtp.url, sender="digest@localhost", timeout=5) as transport:
            c.run_digests(at, transport=transport)
        return _by_recipient(smtp, start)

    day1 = run(now)
    assert set(day1) == {"ada@example.org", "bob@example.org", "cy@example.org"}
    # Ada's e-mail has a "Share with my team" link per item, in both parts
    links = email_links(day1["ada@example.org"], "share")
    assert links and "Share with my team" in _text(day1["ada@example.org"])
    client = TestClient(create_app(settings))
    form = client.get(path_of(links[0]))
    assert form.status_code == 200 and "Platform" in form.text and "Sales" not in form.text
    assert client.head(path_of(links[0])).status_code == 200
    assert c.teams.my_shares(ada.id) == []  # opening the form shares nothing
    token = html.unescape(re.search(r'name="token" value="([^"]+)"', form.text).group(1))
    team_id = re.search(r'<option value="(\d+)">Platform</option>', form.text).group(1)
    done = client.post("/v1/email/share", data={"token": token, "team_id": team_id, "note": NOTE})
    assert done.status_code == 200 and "Shared" in done.text, done.text
    (share,) = c.teams.my_shares(ada.id)
    assert share.note == NOTE and share.team_id == platform.id
    again = client.post("/v1/email/share", data={"token": token, "team_id": team_id, "note": "x"})
    assert again.status_code == 409  # one share of an item per team

    # the next day: Bob's digest (e-mail and API) holds it once, with Ada's name and note
    day2 = run(now + timedelta(days=1))
    assert "bob@example.org" in day2
    bob_mail = day2["bob@example.org"]
    assert "FROM YOUR TEAM" in _text(bob_mail)
    assert f"Note from Ada: {NOTE}" in _text(bob_mail)
    assert "From your team" in bob_mail.get_body(("html",)).get_content()
    api = TestClient(create_app(settings))
    key = c.people.rotate_key(bob.id)
    today = api.get(
        f"/v1/me/digests/{c.digests.history(bob.id, limit=1)[0].day}",
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    team = [s for s in today["sections"] if s["key"] == "team"]
    assert len(team) == 1 and team[0]["title"] == "From your team"
    (entry,) = team[0]["items"]
    assert (entry["item"]["id"], entry["shared_by"], entry["note"]) == (share.item_id, "Ada", NOTE)
    assert entry["share_id"] == share.id

    # the day after: not again; Cy never; Ada does not get her own share
    day3 = run(now + timedelta(days=2))
    for mail in day3.values():
        assert NOTE not in _text(mail)
    for who in (bob, cy, ada):
        hits = [
            e
            for row in c.digests.history(who.id)
            for s in c.digests.for_date(who.id, row.day).sections
            for e in s.items
            if e.share_id == share.id
        ]
        assert len(hits) == (1 if who is bob else 0)
    assert all(
        NOTE not in _text(m)
        for day in (day1, day2, day3)
        for m in day.values()
        if m is not bob_mail
    )
