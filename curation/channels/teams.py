"""A digest as a Microsoft Teams incoming-webhook message: an Adaptive Card (schema 1.4).

The card travels in the ``message`` envelope Teams' webhooks (and Workflows) take:
``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}``. ``TextBlock`` text is a
Markdown subset: ``[text](url)`` links; ``[``, ``]``, ``*``, ``_`` and ``\\`` in our text are
escaped with a backslash so a title cannot make links or emphasis. Each item's feedback links
are ``Action.OpenUrl`` buttons.
"""

from __future__ import annotations

import re

from curation.channels.content import PostContent, PostEntry

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
MAX_ITEMS = 40  # Teams refuses messages over ~28 KB; the rest stays in the API
_MARKDOWN = re.compile(r"([\\\[\]*_`])")
_LINE_START = ("#", ">", "-", "+")  # headings, quotes and lists only mean something there


def escape(text: str) -> str:
    text = _MARKDOWN.sub(r"\\\1", text)
    return "\\" + text if text.startswith(_LINE_START) else text


def _entry(e: PostEntry) -> list[dict]:
    title = (
        f"[{escape(e.title)}]({e.url.replace(')', '%29').replace(' ', '%20')})"
        if e.url
        else escape(e.title)
    )
    body: list[dict] = [
        {"type": "TextBlock", "text": f"**{title}**", "wrap": True, "separator": True}
    ]
    if e.source:
        body.append(
            {
                "type": "TextBlock",
                "text": escape(e.source),
                "isSubtle": True,
                "spacing": "None",
                "wrap": True,
            }
        )
    if e.gem_note:
        by = f" — {escape(e.curator)}" if e.curator else ""
        body.append({"type": "TextBlock", "text": f"💎 {escape(e.gem_note)}{by}", "wrap": True})
    body.append({"type": "TextBlock", "text": f"Why: {escape(e.why)}", "wrap": True})
    body.append(
        {
            "type": "ActionSet",
            "actions": [
                {"type": "Action.OpenUrl", "title": "Useful", "url": e.useful_url},
                {"type": "Action.OpenUrl", "title": "Not for me", "url": e.not_useful_url},
            ],
        }
    )
    return body


def teams_card(content: PostContent) -> dict:
    """The Adaptive Card alone."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": escape(content.heading),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        }
    ]
    shown = 0
    left = 0
    for section in content.sections:
        entries = section.entries[: max(0, MAX_ITEMS - shown)]
        left += len(section.entries) - len(entries)
        if not entries:
            continue
        body.append(
            {
                "type": "TextBlock",
                "text": escape(section.title),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            }
        )
        for e in entries:
            body.extend(_entry(e))
        shown += len(entries)
    if left:
        body.append(
            {
                "type": "TextBlock",
                "text": f"{left} more in your digest on the web.",
                "isSubtle": True,
                "wrap": True,
            }
        )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
    }


def teams_payload(content: PostContent) -> dict:
    """The JSON body to POST to a Teams incoming webhook."""
    return {
        "type": "message",
        "attachments": [
            {"contentType": CARD_TYPE, "contentUrl": None, "content": teams_card(content)}
        ],
    }
