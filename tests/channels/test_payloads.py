"""Slack Block Kit and Teams Adaptive Card payloads of a digest: shape, escaping, and the same
items, whys, gem notes and signed feedback links as the e-mail."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from curation.channels.content import compose
from curation.channels.slack import MAX_BLOCKS, slack_payload
from curation.channels.teams import CARD_TYPE, teams_payload
from curation.errors import CurationError
from curation.mail.render import FEEDBACK_PATH
from curation.mail.tokens import verify
from tests.helpers.digests import NOW, SAMPLE, SECRET, digest, entry, person

BASE = "https://curation.example.org"


def content(view=SAMPLE):  # noqa: ANN001, ANN201
    return compose(view, person(), base_url=BASE, token_secret=SECRET, now=NOW)


def _texts(blocks: list[dict]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")


def test_slack_payload_is_block_kit_with_escaped_mrkdwn() -> None:
    body = slack_payload(content())
    assert isinstance(body["blocks"], list) and all("type" in b for b in body["blocks"])
    assert body["blocks"][0]["type"] == "header"
    sections = [b for b in body["blocks"] if b["type"] == "section"]
    assert all(b["text"]["type"] == "mrkdwn" for b in sections)
    text = _texts(body["blocks"])
    # the hostile title is escaped: no raw < > & can open a link or a mention
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; friends" in text
    assert "<script>" not in text
    assert "because of &lt;interest 2&gt;" in text  # the why
    assert "Read the &lt;second&gt; half first — Grace" in text  # the gem's note and curator
    assert "<https://example.org/1|Plain title>" in text  # the item links to itself


def test_feedback_links_are_the_emails_signed_links() -> None:
    text = _texts(slack_payload(content())["blocks"])
    links = [part.split("|")[0] for part in text.split("<")[1:] if FEEDBACK_PATH in part]
    assert len(links) == 6  # useful and not-for-me for each of the three items
    claims = set()
    for link in links:
        assert link.startswith(BASE + FEEDBACK_PATH)
        token = parse_qs(urlsplit(link).query)["token"][0]
        claim = verify(SECRET, token, now=NOW, actions=("useful", "not_useful"))
        claims.add((claim.person_id, claim.item_id, claim.action))
    assert claims == {(7, i, a) for i in (1, 2, 3) for a in ("useful", "not_useful")}


def test_slack_keeps_within_its_block_limit_and_says_what_is_left() -> None:
    many = digest(*[entry(n, f"Story {n}") for n in range(1, 80)])
    blocks = slack_payload(content(many))["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert blocks[-1]["type"] == "context"
    assert "more items" in blocks[-1]["elements"][0]["text"]


def test_teams_payload_is_an_adaptive_card_in_a_message() -> None:
    body = teams_payload(content())
    assert body["type"] == "message"
    attachment = body["attachments"][0]
    assert attachment["contentType"] == CARD_TYPE == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert all("type" in element for element in card["body"])
    texts = "\n".join(e.get("text", "") for e in card["body"])
    assert "Read the <second> half first — Grace" in texts
    assert "because of <interest 1>" in texts
    actions = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    assert len(actions) == 6
    assert all(a["type"] == "Action.OpenUrl" and FEEDBACK_PATH in a["url"] for a in actions)


def test_teams_escapes_markdown_in_titles() -> None:
    tricky = digest(entry(1, "[click](https://evil.example) *bold*"))
    card = teams_payload(content(tricky))["attachments"][0]["content"]
    title = next(e["text"] for e in card["body"] if "click" in e.get("text", ""))
    assert "\\[click\\](https://evil.example) \\*bold\\*" in title


def test_feedback_links_expire_like_the_emails() -> None:
    body = slack_payload(content())
    link = _texts(body["blocks"]).split("<" + BASE)[1].split("|")[0]
    token = parse_qs(urlsplit(link).query)["token"][0]
    verify(SECRET, token, now=NOW + timedelta(days=29), actions=("useful", "not_useful"))
    with pytest.raises(CurationError):
        verify(SECRET, token, now=NOW + timedelta(days=31), actions=("useful", "not_useful"))
