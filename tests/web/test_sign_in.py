"""Signing in to the web pages through ``POST /v1/auth/email-link`` and the e-mailed link,
against a real SMTP server: 202 whoever asks, the link is shown (GET) without being spent,
spent once (POST), and the attempts are rate-limited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from curation.storage.engine import upgrade
from tests.helpers.api import Api, open_api
from tests.helpers.smtp import MailServer
from tests.helpers.web import csrf_of, link_in


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
def mailing(tmp_path: Path, smtp: MailServer) -> Iterator[Api]:
    url = f"sqlite:///{tmp_path / 'curation.db'}"
    upgrade(url)
    with open_api(url, smtp_url=smtp.url, rate_limit_sign_in=3) as api:
        yield api


def test_the_answer_is_the_same_for_known_and_unknown_addresses(
    mailing: Api, smtp: MailServer
) -> None:
    known = mailing.person("curator")
    email = mailing.people.get(known.id).email
    a = mailing.client.post("/v1/auth/email-link", json={"email": email})
    b = mailing.client.post("/v1/auth/email-link", json={"email": "nobody@example.org"})
    assert a.status_code == b.status_code == 202
    assert a.json() == b.json()
    assert [r.rcpt_tos for r in smtp.received] == [[email]]


def test_the_emailed_link_signs_in_once(mailing: Api, smtp: MailServer) -> None:
    curator = mailing.person("curator")
    email = mailing.people.get(curator.id).email
    assert mailing.client.post("/v1/auth/email-link", json={"email": email}).status_code == 202
    link = link_in(smtp.received[0].message)
    path = link.split("://", 1)[1].split("/", 1)[1]

    # following the link (what a mail scanner does) shows a button and spends nothing
    for _ in range(2):
        shown = mailing.client.get("/" + path)
        assert shown.status_code == 200 and 'id="use-link"' in shown.text
    token = path.split("token=")[1]
    form = {"csrf": csrf_of(shown.text), "token": token}
    used = mailing.client.post("/sign-in/link", data=form, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == "/workspace/sources"
    assert mailing.client.get("/workspace/sources").status_code == 200

    other = type(mailing.client)(mailing.app)  # another browser with the same link: refused
    again = other.post(
        "/sign-in/link", data={"csrf": csrf_of(other.get("/" + path).text), "token": token}
    )
    assert again.status_code == 400
    assert "used already or have expired" in again.text
    assert other.get("/workspace/sources", follow_redirects=False).status_code == 303


def test_the_sign_in_page_form_mails_a_link_too(mailing: Api, smtp: MailServer) -> None:
    learner = mailing.person("learner")
    email = mailing.people.get(learner.id).email
    csrf = csrf_of(mailing.client.get("/").text)
    page = mailing.client.post("/sign-in/email", data={"csrf": csrf, "email": email})
    assert "a sign-in link is on its way" in page.text
    assert len(smtp.received) == 1
    assert mailing.client.post("/sign-in/email", data={"email": email}).status_code == 403
    assert len(smtp.received) == 1  # no CSRF token: nothing sent


def test_sign_in_attempts_are_rate_limited(mailing: Api, smtp: MailServer) -> None:
    learner = mailing.person("learner")
    email = mailing.people.get(learner.id).email
    answers = [
        mailing.client.post("/v1/auth/email-link", json={"email": email}).status_code
        for _ in range(4)
    ]
    assert answers == [202, 202, 202, 429]
    assert len(smtp.received) == 3
    csrf = csrf_of(mailing.client.get("/").text)
    tried = mailing.client.post("/sign-in/key", data={"csrf": csrf, "api_key": learner.key})
    assert tried.status_code == 429  # the same address, any way of signing in
