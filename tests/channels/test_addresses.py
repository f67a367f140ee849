"""Webhook URLs: the feeds' address policy (same refusal as the sources API), https only
(http only to allow-listed hosts), and masking."""

from __future__ import annotations

import pytest

from curation.channels.addresses import check_webhook_url, mask_webhook
from curation.errors import AddressRefused
from curation.ingest.netpolicy import AddressPolicy

OPEN = AddressPolicy()
LOOPBACK = AddressPolicy.from_setting("127.0.0.1")


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/services/T/B/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://2130706433/hook",  # 127.0.0.1 spelled as a number
        "https://db.internal/hook",
        "ftp://hooks.slack.com/services/T/B/x",
        "https://hooks.slack.com:22/services/T/B/x",
    ],
)
def test_internal_and_odd_addresses_are_refused(url: str) -> None:
    with pytest.raises(AddressRefused):
        check_webhook_url(OPEN, url)


def test_plain_http_only_to_hosts_the_allow_list_names() -> None:
    with pytest.raises(AddressRefused, match="https"):
        check_webhook_url(OPEN, "http://hooks.slack.com/services/T/B/x")
    with pytest.raises(AddressRefused, match="https"):
        check_webhook_url(LOOPBACK, "http://hooks.slack.com/services/T/B/x")
    assert check_webhook_url(LOOPBACK, " http://127.0.0.1:8080/hook ") == (
        "http://127.0.0.1:8080/hook"
    )
    with pytest.raises(AddressRefused):  # loopback, not allowed
        check_webhook_url(OPEN, "http://127.0.0.1:8080/hook")


def test_public_https_webhooks_are_accepted_without_dns() -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
    assert check_webhook_url(OPEN, url) == url


def test_masking_never_shows_the_secret_part() -> None:
    assert (
        mask_webhook("https://hooks.slack.com/services/T0123ABC/B0456DEF/abcdefSECRET")
        == "https://hooks.slack.com/services/T…/***"
    )
    teams = "https://contoso.webhook.office.com/webhookb2/1234-abcd@tenant/IncomingWebhook/x/y"
    assert mask_webhook(teams) == "https://contoso.webhook.office.com/webhookb2/1…/***"
    shown = mask_webhook("https://user:pw@example.org:8443/a/bcdef?token=SECRET")
    assert shown == "https://example.org:8443/a/b…/***"
    assert mask_webhook(None) is None
