"""The e-mail's "Save for later" link, end to end: a digest delivered over real SMTP carries one
per item (HTML and text); following it (GET, HEAD: what mail scanners do) saves nothing; the
confirmation page's button (POST) saves the item once, and it shows in ``GET /v1/me/saved``."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from app.main import create_app
from curation.clock import utcnow
from curation.mail.deliver import deliver_pending
from curation.mail.links import FEEDBACK_ACTIONS, SAVE_ACTIONS
from curation.mail.render import make_renderer
from curation.mail.tokens import verify
from curation.mail.transport import SMTPTransport
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from curation.storage.tables import Feedback
from tests.helpers.digests import (
    NOW,
    SECRET,
    add_items,
    add_person,
    email_links,
    link_settings,
    path_of,
    record_digest,
)
from tests.helpers.smtp import MailServer


def _saved_rows(engine: Engine, person_id: int) -> int:
    query = select(func.count()).where(Feedback.person_id == person_id, Feedback.signal == "saved")
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_save_link_confirms_then_saves_once(
    any_store: Store, engine: Engine, smtp: MailServer
) -> None:
    settings = link_settings(engine)
    people = PeopleStore(engine)
    items = add_items(any_store, ["First story", "Second story"])
    ada = add_person(people, 0, "Ada")
    record_digest(engine, ada, [(items[0], "First story"), (items[1], "Second story")])
    with SMTPTransport(smtp.url, sender="digest@localhost") as transport:
        deliver_pending(
            engine, settings, transport=transport, now=NOW, render=make_renderer(settings)
        )
    (received,) = smtp.received

    links = {}
    for url in email_links(received.message, "/v1/email/save"):
        claim = verify(SECRET, url.split("token=")[1], now=utcnow(), actions=SAVE_ACTIONS)
        assert claim.person_id == ada.id and claim.action == "saved"
        links[claim.item_id] = url
    assert set(links) == set(items)
    text = received.message.get_body(("plain",)).get_content()
    assert f"Save for later: {links[items[1]]}" in text

    client = TestClient(create_app(settings))
    url = links[items[1]]
    assert client.head(path_of(url)).status_code == 200
    page = client.get(path_of(url))
    assert page.status_code == 200 and "Save for later?" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert _saved_rows(engine, ada.id) == 0  # GET and HEAD save nothing

    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action and html.unescape(action.group(1)) == "/v1/email/save"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    for _ in range(2):  # clicking twice keeps one saved item
        done = client.post("/v1/email/save", data={k: html.unescape(v) for k, v in fields.items()})
        assert done.status_code == 200 and "Saved" in done.text
    assert _saved_rows(engine, ada.id) == 1

    # a save token is not a feedback token, nor the other way round
    assert client.get("/v1/email/feedback?" + path_of(url).split("?")[1]).status_code == 400
    feedback = email_links(received.message, "/v1/email/feedback")[0]
    verify(SECRET, feedback.split("token=")[1], now=utcnow(), actions=FEEDBACK_ACTIONS)
    assert client.get("/v1/email/save?" + path_of(feedback).split("?")[1]).status_code == 400

    # the saved item is on Ada's list
    key = people.rotate_key(ada.id)
    saved = client.get("/v1/me/saved", headers={"Authorization": f"Bearer {key}"}).json()
    assert [e["item"]["id"] for e in saved["items"]] == [items[1]]
