"""``PUT`` / ``GET /v1/me/channels`` through the real app: webhook URLs are shown masked, and
internal addresses are refused with the same problem as the sources API."""

from __future__ import annotations

from sqlalchemy import select

from curation.storage.tables import Channel
from tests.helpers.api import Api

SLACK = "https://hooks.slack.com/services/T0123ABC/B0456DEF/abcdefSECRETxyz"
TEAMS = "https://contoso.webhook.office.com/webhookb2/abcd@tenant/IncomingWebhook/SECRET2/x"


def test_channels_are_replaced_and_shown_masked(api: Api) -> None:
    me = api.person()
    body = [
        {"kind": "email", "cadence": "weekdays"},
        {"kind": "slack", "url": SLACK, "cadence": "daily"},
        {"kind": "teams", "url": TEAMS, "cadence": "weekly", "weekday": 4},
    ]
    put = api.client.put("/v1/me/channels", json=body, headers=me.headers)
    assert put.status_code == 200, put.text
    got = api.client.get("/v1/me/channels", headers=me.headers)
    assert got.status_code == 200
    for answer in (put, got):
        assert "SECRET" not in answer.text and "abcdef" not in answer.text
        channels = answer.json()["channels"]
        assert [(c["kind"], c["cadence"], c["weekday"]) for c in channels] == [
            ("email", "weekdays", None),
            ("slack", "daily", None),
            ("teams", "weekly", 4),
        ]
        assert channels[0]["url"] is None
        assert channels[1]["url"] == "https://hooks.slack.com/services/T…/***"
        assert channels[2]["url"] == "https://contoso.webhook.office.com/webhookb2/a…/***"
    # at rest the URLs are sealed: neither the secret part nor the host is in the row
    with api.engine.connect() as conn:
        stored = conn.execute(select(Channel.__table__.c.url)).scalars().all()
    webhooks = [u for u in stored if u is not None]
    assert len(webhooks) == 2 and all(u.startswith("enc1:") for u in webhooks)
    assert not any("SECRET" in u or "hooks.slack.com" in u for u in webhooks)
    # replacing: the Slack one stays (same row), the others go
    again = api.client.put("/v1/me/channels", json=[body[1]], headers=me.headers)
    assert [c["id"] for c in again.json()["channels"]] == [got.json()["channels"][1]["id"]]
    # another person sees none of them
    other = api.person()
    assert api.client.get("/v1/me/channels", headers=other.headers).json() == {"channels": []}


def test_internal_webhook_addresses_are_refused_like_sources(api: Api) -> None:
    me = api.person()
    internal = "https://10.1.2.3/services/T/B/x"
    answer = api.client.put(
        "/v1/me/channels", json=[{"kind": "slack", "url": internal}], headers=me.headers
    )
    curator = api.person("curator")
    source = api.client.post("/v1/sources", json={"url": internal}, headers=curator.headers)
    assert answer.status_code == source.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["title"] == source.json()["title"]
    assert api.client.get("/v1/me/channels", headers=me.headers).json() == {"channels": []}


def test_plain_http_webhooks_are_refused(api: Api) -> None:
    me = api.person()
    answer = api.client.put(
        "/v1/me/channels",
        json=[{"kind": "slack", "url": "http://hooks.slack.com/services/T/B/x"}],
        headers=me.headers,
    )
    assert answer.status_code == 422 and "https" in answer.json()["detail"]


def test_bad_channel_lists_are_refused(api: Api) -> None:
    me = api.person()
    for body in (
        [{"kind": "teams", "url": TEAMS, "cadence": "weekly"}],  # no weekday
        [{"kind": "slack"}],  # no url
        [{"kind": "email", "url": SLACK}],  # email takes no url
        [{"kind": "email"}, {"kind": "email", "cadence": "weekly", "weekday": 1}],
        [{"kind": "sms", "url": SLACK}],
    ):
        answer = api.client.put("/v1/me/channels", json=body, headers=me.headers)
        assert answer.status_code == 422, body
    assert api.client.get("/v1/me/channels").status_code == 401
