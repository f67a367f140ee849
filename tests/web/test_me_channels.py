"""The learner's page over HTTP (no browser): their private feed URLs, the "new URLs" form that
rotates them, and their chat channels (webhook URLs masked, cadence editable), each form
behind the session's CSRF token and each person seeing and changing only their own."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.helpers.api import Actor, Api
from tests.helpers.web import page_csrf, sign_in

_FEED_URL = re.compile(r"https?://[^\s<\"]+/digest-feeds/[A-Za-z0-9_-]+\.(?:atom|json)")
HOOK = "http://127.0.0.1:9/services/T0001/B0002/secretsecretsecret"


def _feed_urls(html: str) -> list[str]:
    return sorted(set(_FEED_URL.findall(html)))


def _api_feed_urls(web: Api, who: Actor) -> list[str]:
    answer = web.client.get("/v1/me/feeds", headers=who.headers)
    assert answer.status_code == 200
    return sorted(answer.json().values())


def _status(client: TestClient, url: str) -> int:
    return client.get(urlsplit(url).path).status_code


def test_the_page_shows_the_feed_urls_and_new_urls_replaces_them(web: Api) -> None:
    learner = web.person("learner")
    sign_in(web.client, learner.key)
    page = web.client.get("/me").text
    old = _feed_urls(page)
    assert len(old) == 2 and old == _api_feed_urls(web, learner)  # the API's URLs, both kinds
    assert [_status(web.client, url) for url in old] == [200, 200]

    token = page_csrf(web.client, "/me")
    answer = web.client.post("/me/feeds/rotate", data={"csrf": token})
    assert answer.status_code == 200  # redirected back to the page
    assert "the old ones no longer work" in answer.text
    new = _feed_urls(answer.text)
    assert len(new) == 2 and not set(new) & set(old)
    assert new == _api_feed_urls(web, learner)
    assert [_status(web.client, url) for url in old] == [404, 404]
    assert [_status(web.client, url) for url in new] == [200, 200]


def test_new_urls_without_the_csrf_token_are_refused_and_change_nothing(web: Api) -> None:
    learner = web.person("learner")
    sign_in(web.client, learner.key)
    before = _feed_urls(web.client.get("/me").text)
    missing = web.client.post("/me/feeds/rotate")
    forged = web.client.post("/me/feeds/rotate", data={"csrf": "forged-token"})
    assert missing.status_code == 403 and forged.status_code == 403
    assert _api_feed_urls(web, learner) == before
    assert [_status(web.client, url) for url in before] == [200, 200]


def test_a_learner_sees_and_rotates_only_their_own_feed(web: Api) -> None:
    me, other = web.person("learner"), web.person("learner")
    theirs = _api_feed_urls(web, other)
    sign_in(web.client, me.key)
    page = web.client.get("/me").text
    assert _feed_urls(page) == _api_feed_urls(web, me)
    assert not any(url in page for url in theirs)
    web.client.post("/me/feeds/rotate", data={"csrf": page_csrf(web.client, "/me")})
    assert _api_feed_urls(web, other) == theirs  # the other learner's URLs still work
    assert [_status(web.client, url) for url in theirs] == [200, 200]


def test_the_page_lists_channels_masked_and_changes_a_cadence(web: Api) -> None:
    me, other = web.person("learner"), web.person("learner")
    put = web.client.put(
        "/v1/me/channels",
        json=[{"kind": "email", "cadence": "daily"}, {"kind": "slack", "url": HOOK}],
        headers=me.headers,
    )
    assert put.status_code == 200, put.text
    slack = next(c for c in put.json()["channels"] if c["kind"] == "slack")
    sign_in(web.client, me.key)
    page = web.client.get("/me").text
    assert slack["url"] in page  # masked as the API shows it
    assert "secretsecretsecret" not in page and "B0002" not in page

    token = page_csrf(web.client, "/me")
    answer = web.client.post(
        f"/me/channels/{slack['id']}/cadence",
        data={"csrf": token, "cadence": "weekly", "weekday": "4"},
    )
    assert "cadence is saved" in answer.text
    shown = web.client.get("/v1/me/channels", headers=me.headers).json()["channels"]
    assert {(c["kind"], c["cadence"], c["weekday"]) for c in shown} == {
        ("email", "daily", None),
        ("slack", "weekly", 4),
    }
    assert next(c for c in shown if c["kind"] == "slack")["id"] == slack["id"]  # the same row

    # no token: refused; another learner naming this channel: not theirs, nothing changes
    assert (
        web.client.post(
            f"/me/channels/{slack['id']}/cadence", data={"cadence": "daily"}
        ).status_code
        == 403
    )
    other_client = TestClient(web.app)
    sign_in(other_client, other.key)
    refused = other_client.post(
        f"/me/channels/{slack['id']}/cadence",
        data={"csrf": page_csrf(other_client, "/me"), "cadence": "daily"},
    )
    assert f"no channel {slack['id']} of yours" in refused.text
    assert web.client.get("/v1/me/channels", headers=me.headers).json()["channels"] == shown
    assert HOOK not in other_client.get("/me").text
