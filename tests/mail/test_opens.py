"""Item links in a received e-mail: a signed redirect to the stored item URL that counts one
open per person and item, and not the clicks of mail scanners (HEAD, or within the grace
period after the e-mail was sent). Real SMTP, the real app, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from app.main import create_app
from curation.clock import utcnow
from curation.mail.deliver import deliver_pending
from curation.mail.opens import counts_as_open
from curation.mail.render import make_renderer
from curation.mail.tokens import sign
from curation.mail.transport import SMTPTransport
from curation.settings import Settings
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from curation.storage.tables import Digest, DigestItem, Item, ItemOpen
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
from tests.helpers.store import clean_item, save

D = Digest.__table__
DI = DigestItem.__table__
GRACE = 120


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return link_settings(engine, email_open_grace_seconds=GRACE)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), follow_redirects=False)


@pytest.fixture
def mailed(any_store: Store, engine: Engine, settings: Settings, smtp: MailServer):
    """Ada's digest of two items, recorded as the builder records it and sent by SMTP."""
    people = PeopleStore(engine)
    items = add_items(any_store, ["First story", "Second story"])
    ada = add_person(people, 0, "Ada")
    view = record_digest(engine, ada, [(items[0], "First story"), (items[1], "Second story")])
    with engine.begin() as conn:  # the builder records what each digest delivered
        conn.execute(
            DI.insert(),
            [
                {"digest_id": view.id, "person_id": ada.id, "item_id": i, "section": "for_you"}
                for i in items
            ],
        )
    with SMTPTransport(smtp.url, sender="digest@localhost") as transport:
        deliver_pending(
            engine, settings, transport=transport, now=NOW, render=make_renderer(settings)
        )
    (received,) = smtp.received
    found = email_links(received.message, "/open")
    assert len(found) == 2, "each item's link goes through the counting redirect"
    links = [next(u for u in found if f".{ada.id}.{i}." in u) for i in items]  # in items' order
    text = received.message.get_body(("plain",)).get_content()
    assert all(link in text for link in links)  # the plain-text part carries the same links
    return people, ada, items, view, links


def sent_ago(engine: Engine, digest_id: int, seconds: float | None) -> None:
    """Pretend the digest's e-mail was marked sent ``seconds`` ago (None: not marked yet)."""
    at = None if seconds is None else utcnow() - timedelta(seconds=seconds)
    with engine.begin() as conn:
        conn.execute(update(D).where(D.c.id == digest_id).values(email_sent_at=at))


def opens(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ItemOpen.person_id, ItemOpen.item_id).order_by(ItemOpen.id))
        return [tuple(r) for r in rows]


def test_item_link_redirects_to_the_stored_url_and_counts_one_open(
    mailed, client: TestClient, engine: Engine
) -> None:
    _people, ada, items, view, links = mailed
    sent_ago(engine, view.id, GRACE + 60)  # a person reading a few minutes after delivery
    first = client.get(path_of(links[0]))
    assert first.status_code == 302
    assert first.headers["location"] == "https://example.org/k0"
    assert first.headers["referrer-policy"] == "no-referrer"  # the token stays ours
    assert first.headers["cache-control"] == "no-store"
    assert client.get(path_of(links[0])).status_code == 302  # again: still one open
    assert opens(engine) == [(ada.id, items[0])]
    assert client.get(path_of(links[1])).status_code == 302
    assert sorted(opens(engine)) == sorted([(ada.id, items[0]), (ada.id, items[1])])


def test_scanner_clicks_redirect_but_are_not_counted(
    mailed, client: TestClient, engine: Engine
) -> None:
    _people, ada, items, view, links = mailed
    # a link checker's HEAD, long after delivery: redirected, not counted
    sent_ago(engine, view.id, 3600)
    assert client.head(path_of(links[0])).status_code == 302
    # a gateway scanning on delivery, before the e-mail is even marked sent
    sent_ago(engine, view.id, None)
    assert client.get(path_of(links[0])).status_code == 302
    # ... and within the grace period after it was sent
    sent_ago(engine, view.id, 5)
    assert client.get(path_of(links[1])).status_code == 302
    assert opens(engine) == []
    # the person, later: counted
    sent_ago(engine, view.id, GRACE + 1)
    assert client.get(path_of(links[1])).status_code == 302
    assert opens(engine) == [(ada.id, items[1])]


def test_the_target_is_never_taken_from_the_request(
    mailed, client: TestClient, engine: Engine
) -> None:
    _people, ada, items, view, links = mailed
    sent_ago(engine, view.id, 3600)
    token = links[0].split("token=")[1]
    tampered = client.get(f"/v1/email/open?token={token[:-2]}xx")
    assert tampered.status_code == 400 and "location" not in tampered.headers
    extra = client.get(path_of(links[0]) + "&url=https://evil.example.net/")
    assert extra.headers["location"] == "https://example.org/k0"
    # an item whose stored URL is not a web address: no redirect at all
    with engine.begin() as conn:
        conn.execute(update(Item).where(Item.id == items[1]).values(url="javascript:alert(1)"))
    page = client.get(path_of(links[1]))
    assert page.status_code == 404 and "location" not in page.headers
    assert opens(engine) == [(ada.id, items[0])]


def test_links_of_items_never_delivered_or_expired_are_not_counted(
    mailed, client: TestClient, engine: Engine
) -> None:
    _people, ada, items, view, _links = mailed
    sent_ago(engine, view.id, 3600)
    person = _people.get(ada.id)
    store = Store(engine)
    source = store.add_source("https://feed.example.org/other/rss")
    save(store, source.id, clean_item("never-delivered"))
    with engine.connect() as conn:
        key = "https://example.org/never-delivered"
        other = conn.execute(select(Item.id).where(Item.dedupe_key == key)).scalar_one()
    never = sign(
        SECRET,
        "open",
        ada.id,
        other,
        utcnow() + timedelta(days=1),
        person_created_at=person.created_at,
    )
    assert client.get(f"/v1/email/open?token={never}").status_code == 302
    expired = sign(
        SECRET,
        "open",
        ada.id,
        items[0],
        utcnow() - timedelta(seconds=1),
        person_created_at=person.created_at,
    )
    response = client.get(f"/v1/email/open?token={expired}")
    assert response.status_code == 302  # still taken to the item: the target is ours
    # a genuine feedback token is not an open token
    useful = sign(
        SECRET,
        "useful",
        ada.id,
        items[0],
        utcnow() + timedelta(days=1),
        person_created_at=person.created_at,
    )
    assert client.get(f"/v1/email/open?token={useful}").status_code == 400
    assert opens(engine) == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ItemOpen)).scalar_one() == 0


def test_grace_rule() -> None:
    now = utcnow()
    grace = timedelta(seconds=GRACE)
    assert not counts_as_open(now=now, sent_at=None, grace=grace)
    assert not counts_as_open(now=now, sent_at=now - timedelta(seconds=GRACE - 1), grace=grace)
    assert counts_as_open(now=now, sent_at=now - grace, grace=grace)
