"""A digest as a Slack incoming-webhook message: Block Kit ``section`` blocks in ``mrkdwn``.

Slack's mrkdwn needs only ``&``, ``<`` and ``>`` escaped (as ``&amp;`` ``&lt;`` ``&gt;``);
links are ``<url|text>``, so a ``|`` or ``>`` in a URL is percent-encoded. A section's text is
at most 3,000 characters and a message at most 50 blocks (Slack's limits): longer texts are
cut, and the items beyond the block budget are left to the API (a last context block says so).
``text`` is the notification fallback.
"""

from __future__ import annotations

from curation.channels.content import PostContent, PostEntry

MAX_BLOCKS = 50
MAX_TEXT = 3000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, text: str) -> str:
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")
    return f"<{safe}|{escape(text)}>"


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _entry_text(e: PostEntry) -> str:
    title = f"*{_link(e.url, e.title)}*" if e.url else f"*{escape(e.title)}*"
    lines = [title]
    if e.source:
        lines.append(f"_{escape(e.source)}_")
    if e.gem_note:
        by = f" — {escape(e.curator)}" if e.curator else ""
        lines.append(f":gem: {escape(e.gem_note)}{by}")
    lines.append(f"Why: {escape(e.why)}")
    lines.append(f"{_link(e.useful_url, 'Useful')} · {_link(e.not_useful_url, 'Not for me')}")
    return _cut("\n".join(lines))


def slack_payload(content: PostContent) -> dict:
    """The JSON body to POST to a Slack incoming webhook."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": content.heading[:150]}}
    ]
    left = 0
    for section in content.sections:
        shown = 0
        for e in section.entries:
            if len(blocks) >= MAX_BLOCKS - 3:  # room for a divider and the closing note
                break
            if shown == 0:
                heading = f"*{escape(section.title)}*"
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": heading}})
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _entry_text(e)}})
            shown += 1
        left += len(section.entries) - shown
        if shown:
            blocks.append({"type": "divider"})
    if left:
        note = f"{left} more item{'s' if left != 1 else ''} in your digest on the web."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return {"text": escape(content.heading), "blocks": blocks[:MAX_BLOCKS]}
