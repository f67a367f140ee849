"""The links in a received e-mail, followed through the app: feedback and unsubscribe."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from curation.clock import utcnow
from curation.mail.deliver import deliver_pending
from curation.mail.links import FEEDBACK_ACTIONS
from curation.mail.render import make_renderer
from curation.mail.tokens import sign, verify
from curation.mail.transport import SMTPTransport
from curation.settings import Settings
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from tests.helpers.digests import (
    NOW,
    SECRET,
    add_items,
    add_person,
    digest_rows,
    email_links,
    link_settings,
    path_of,
    record_digest,
)
from tests.helpers.smtp import MailServer


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return link_settings(engine)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def deliver(engine: Engine, settings: Settings, server: MailServer, now=NOW) -> None:
    # links expire relative to the real clock here, because the app checks them against it
    with SMTPTransport(server.url, sender="digest@localhost") as transport:
        deliver_pending(
            engine, settings, transport=transport, now=now, render=make_renderer(settings)
        )


@pytest.fixture
def mailed(any_store: Store, engine: Engine, settings: Settings, smtp: MailServer):
    people = PeopleStore(engine)
    items = add_items(any_store, ["First story", "Second story"])
    ada = add_person(people, 0, "Ada")
    record_digest(engine, ada, [(items[0], "First story"), (items[1], "Second story")])
    deliver(engine, settings, smtp)
    assert len(smtp.received) == 1
    return people, ada, items, smtp.received[0]


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The confirmation page's form: where it posts and its hidden fields."""
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action, page
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return html.unescape(action.group(1)), {n: html.unescape(v) for n, v in fields}


def test_feedback_links_record_reactions_for_the_ranker(mailed, client: TestClient) -> None:
    # issue 17: following a link (a GET, as mail scanners do) records nothing any more; the
    # confirmation page's button (a POST) does. This test used to assert that the GET recorded.
    people, ada, items, received = mailed
    feedback = {}
    for url in email_links(received.message, "feedback"):
        claim = verify(SECRET, url.split("token=")[1], now=utcnow(), actions=FEEDBACK_ACTIONS)
        feedback[claim.item_id, claim.action] = url
    assert len(feedback) == 4  # useful and not-for-me for each item
    useful_first = feedback[items[0], "useful"]
    not_useful_second = feedback[items[1], "not_useful"]

    assert client.head(path_of(not_useful_second)).status_code == 200
    page = client.get(path_of(useful_first))
    assert page.status_code == 200 and "More like this?" in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert client.get(path_of(not_useful_second)).status_code == 200
    assert people.reactions([ada.id]) == {}  # HEAD and GET (link checkers, scanners): nothing

    for url, said in ((useful_first, "more"), (not_useful_second, "less"), (useful_first, "more")):
        action, fields = form_of(client.get(path_of(url)).text)
        assert action == "/v1/email/feedback" and fields["token"] == url.split("token=")[1]
        done = client.post(action, data=fields)  # the button; clicking twice changes nothing
        assert done.status_code == 200 and f"{said} like this" in done.text

    reactions = people.reactions([ada.id])[ada.id]
    assert sorted((r.item_id, r.signal) for r in reactions) == [
        (items[0], "useful"),
        (items[1], "not_useful"),
    ]
    # the text part carries the same working links
    text = received.message.get_body(("plain",)).get_content()
    assert useful_first in text


def test_unsubscribe_link_confirms_then_unsubscribes(
    mailed, client: TestClient, engine: Engine, settings: Settings, smtp: MailServer
) -> None:
    people, ada, items, received = mailed
    (link,) = email_links(received.message, "unsubscribe")
    confirm = client.get(path_of(link))
    assert confirm.status_code == 200
    assert people.get(ada.id).email_digests  # a GET alone changes nothing (link scanners)
    action, fields = form_of(confirm.text)
    assert fields == {"token": link.split("token=")[1], "List-Unsubscribe": "One-Click"}
    done = client.post(action, data=fields)
    assert done.status_code == 200 and "unsubscribed" in done.text
    assert not people.get(ada.id).email_digests

    # and tomorrow's digest is not sent
    record_digest(engine, ada, [(items[0], "First story")], day="2026-11-03")
    deliver(engine, settings, smtp, now=NOW + timedelta(days=1))
    assert len(smtp.received) == 1
    assert [r["email_status"] for r in digest_rows(engine).values()] == ["sent", "skipped"]


def test_one_click_post_to_the_list_unsubscribe_header(mailed, client: TestClient) -> None:
    people, ada, _, received = mailed
    header = str(received.message["List-Unsubscribe"])
    url = re.fullmatch(r"<([^>]+)>", header).group(1)
    response = client.post(
        path_of(url),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert not people.get(ada.id).email_digests
    assert client.post(path_of(url)).status_code == 200  # idempotent


def test_bad_links_get_a_friendly_page_never_a_500(mailed, client: TestClient) -> None:
    people, ada, items, received = mailed
    useful = email_links(received.message, "feedback")[0]
    token = useful.split("token=", 1)[1]
    forged = token.replace(f".{items[0]}.", f".{items[1]}.")
    soon, born = utcnow() + timedelta(days=1), ada.created_at
    expired = sign(
        SECRET, "useful", ada.id, items[0], utcnow() - timedelta(minutes=1), person_created_at=born
    )
    unsubscribe = sign(SECRET, "unsubscribe", ada.id, 0, soon, person_created_at=born)
    gone_item = sign(SECRET, "useful", ada.id, 999_999, soon, person_created_at=born)
    gone_person = sign(SECRET, "useful", 999_999, items[0], soon, person_created_at=born)
    # a genuine link for an earlier holder of Ada's id (Ada was created later)
    earlier = born - timedelta(days=3)
    other_holder = sign(SECRET, "useful", ada.id, items[0], soon, person_created_at=earlier)
    other_unsub = sign(SECRET, "unsubscribe", ada.id, 0, soon, person_created_at=earlier)
    cases = {
        "/v1/email/feedback": 400,
        "/v1/email/feedback?token=": 400,
        f"/v1/email/feedback?token={forged}": 400,
        f"/v1/email/feedback?token={expired}": 400,
        f"/v1/email/feedback?token={unsubscribe}": 400,  # right key, wrong endpoint
        f"/v1/email/feedback?token={gone_item}": 404,
        f"/v1/email/feedback?token={gone_person}": 404,
        f"/v1/email/feedback?token={other_holder}": 404,
        f"/v1/email/unsubscribe?token={other_unsub}": 404,
        f"/v1/email/unsubscribe?token={token}": 400,
        "/v1/email/unsubscribe?token=" + "x" * 5000: 400,
    }
    for path, status in cases.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "<h1" in response.text
    assert "expired" in client.get(f"/v1/email/feedback?token={expired}").text
    assert client.post(f"/v1/email/unsubscribe?token={forged}").status_code == 400
    assert client.post(f"/v1/email/unsubscribe?token={other_unsub}").status_code == 404
    for bad, status in ((forged, 400), (expired, 400), (gone_item, 404), (other_holder, 404)):
        assert client.post("/v1/email/feedback", data={"token": bad}).status_code == status
    assert client.post("/v1/email/feedback").status_code == 400
    assert people.get(ada.id).email_digests and people.reactions([ada.id]) == {}
    assert client.get("/v1/email/feedback?token=<script>").text.count("<script>") == 0
