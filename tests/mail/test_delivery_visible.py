"""A mail server's permanent refusal is seen (issue 17, class 13): by the person on their digest
history (``GET /v1/me/digests``: each digest's delivery state and reason) and by an admin
(``GET /v1/deliveries?status=failed``), not only in a column no one reads. Links in the refused
and the delivered e-mail alike change nothing when a mail scanner follows them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from curation.mail.deliver import deliver_pending
from curation.mail.render import make_renderer
from curation.mail.transport import SMTPTransport
from curation.people.records import NewPerson
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from tests.helpers.digests import (
    NOW,
    add_items,
    email_links,
    link_settings,
    path_of,
    record_digest,
)
from tests.helpers.smtp import MailServer


@pytest.fixture
def refused(any_store: Store, engine: Engine, smtp: MailServer):  # noqa: ANN201
    """Ada's server refuses her digest for good (554); Bob's is delivered."""
    settings = link_settings(engine)
    people = PeopleStore(engine)
    items = add_items(any_store, ["First story", "Second story"])
    ada, ada_key = people.create(NewPerson(email="ada@example.org", name="Ada"))
    bob, bob_key = people.create(NewPerson(email="bob@example.org", name="Bob"))
    admin, admin_key = people.create(NewPerson(email="root@example.org", name="R", role="admin"))
    for person in (ada, bob):
        record_digest(engine, person, [(items[0], "First story"), (items[1], "Second story")])
    smtp.handler.faults["ada@example.org"] = "554"
    with SMTPTransport(smtp.url, sender="digest@localhost") as transport:
        report = deliver_pending(
            engine, settings, transport=transport, now=NOW, render=make_renderer(settings)
        )
    assert (report.sent, report.failed) == (1, 1)
    client = TestClient(create_app(settings))
    return client, {"ada": ada_key, "bob": bob_key, "admin": admin_key}, (ada, bob), smtp


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_person_sees_that_their_digest_was_refused_and_why(refused) -> None:  # noqa: ANN001
    client, keys, _, _ = refused
    (digest,) = client.get("/v1/me/digests", headers=auth(keys["ada"])).json()["digests"]
    delivery = digest["delivery"]
    assert delivery["status"] == "failed"
    assert "554" in delivery["error"] and "refused" in delivery["error"]
    assert delivery["attempts"] == 1 and delivery["sent_at"] is None

    (sent,) = client.get("/v1/me/digests", headers=auth(keys["bob"])).json()["digests"]
    assert sent["delivery"]["status"] == "sent" and sent["delivery"]["error"] is None
    assert sent["delivery"]["sent_at"] is not None


def test_an_admin_lists_failed_deliveries(refused) -> None:  # noqa: ANN001
    client, keys, (ada, bob), _ = refused
    failed = client.get("/v1/deliveries?status=failed", headers=auth(keys["admin"])).json()
    assert [(d["person_id"], d["status"]) for d in failed["deliveries"]] == [(ada.id, "failed")]
    assert "554" in failed["deliveries"][0]["error"]
    everything = client.get("/v1/deliveries", headers=auth(keys["admin"])).json()["deliveries"]
    assert {(d["person_id"], d["status"]) for d in everything} == {
        (ada.id, "failed"),
        (bob.id, "sent"),
    }
    of_bob = client.get(f"/v1/deliveries?person_id={bob.id}", headers=auth(keys["admin"]))
    assert [d["status"] for d in of_bob.json()["deliveries"]] == ["sent"]
    # people's deliveries are an admin's business only
    assert client.get("/v1/deliveries", headers=auth(keys["bob"])).status_code == 403
    assert client.get("/v1/deliveries?status=lost", headers=auth(keys["admin"])).status_code == 422


def test_a_scanner_following_every_link_changes_nothing(refused, engine: Engine) -> None:  # noqa: ANN001
    client, _, (_, bob), smtp = refused
    (received,) = smtp.received
    people = PeopleStore(engine)
    links = email_links(received.message, "feedback") + email_links(received.message, "unsub")
    assert len(links) == 5
    for link in links:
        assert client.head(path_of(link)).status_code in (200, 405)
        assert client.get(path_of(link)).status_code == 200
    assert people.reactions([bob.id]) == {}
    assert people.get(bob.id).email_digests
