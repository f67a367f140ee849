"""Size caps on every text field we store from a feed, and the cuts that keep a value valid.

One place for the numbers (issue 17): a hostile feed may send a 7.8 MB summary or a 10,000
character title; what is stored and served is cut at these caps, always at a safe boundary.

========================  ==============  ===================================================
field                     cap             how it is cut
========================  ==============  ===================================================
item title                500 chars (*)   :func:`~.text.clean_text`: whole characters, never
                                          inside a combining sequence or ZWJ emoji, "…"
item author               200 chars       as the title
item summary (HTML)       100,000 chars   :func:`cut_html`: at an element boundary of the
                                          sanitised HTML, open elements closed
item content (HTML)       500,000 chars   as the summary
item text (for ranking)   100,000 chars   whole characters
item / site URL           8,192 chars     never cut (a cut URL leads elsewhere): dropped
item GUID                 1,000 bytes     never cut: replaced by a hash of the whole
source title (feed's)     500 chars       as the item title (the API allows 500 too)
raw date text             100 chars       whole characters
parse warning             300 chars       whole characters
========================  ==============  ===================================================

(*) the ``CURATION_MAX_TITLE_CHARS`` setting, 500 by default.

Python strings are sequences of code points, so a cut on a ``str`` never falls inside a
UTF-8 sequence; the HTML cut never falls inside a tag or a character reference, because it only
cuts between the tokens of HTML that :func:`~.sanitize.sanitize_html` produced.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_AUTHOR_CHARS",
    "MAX_CONTENT_HTML_CHARS",
    "MAX_GUID_BYTES",
    "MAX_RAW_DATE_CHARS",
    "MAX_SOURCE_TITLE_CHARS",
    "MAX_SUMMARY_HTML_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_URL_CHARS",
    "MAX_WARNING_CHARS",
    "cut_html",
]

MAX_TITLE_CHARS = 500  # the default of the max_title_chars setting
MAX_AUTHOR_CHARS = 200
MAX_SUMMARY_HTML_CHARS = 100_000
MAX_CONTENT_HTML_CHARS = 500_000
MAX_TEXT_CHARS = 100_000
MAX_URL_CHARS = 8_192  # what most servers accept in a request line
MAX_GUID_BYTES = 1_000
MAX_SOURCE_TITLE_CHARS = 500
MAX_RAW_DATE_CHARS = 100
MAX_WARNING_CHARS = 300

# A start or end tag of sanitised HTML (attribute values are double-quoted and may hold ">",
# so quoted values are stepped over); everything between tags is text, whose "<" are escaped.
# Character references live in text and are never split (see _cut_text).
_TAG_RE = re.compile(r'<(/?)([A-Za-z][A-Za-z0-9]*)(?:[^>"]|"[^"]*")*>')
_VOID = frozenset({"br", "hr", "img", "wbr", "col", "area", "source", "track", "input", "embed"})
_ELLIPSIS = "…"


def cut_html(html: str, max_chars: int) -> str:
    """Sanitised ``html`` cut to at most ``max_chars`` characters at a safe boundary.

    The cut falls between tags or inside a text run at a character-reference boundary, never
    inside a tag or a reference; every element still open is closed, and "…" marks the cut when
    there is room. The result is well-formed HTML (for input that was), at most ``max_chars``
    long. Unsanitised input is accepted but should be sanitised again afterwards.
    """
    if len(html) <= max_chars:
        return html
    budget = max_chars
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(html):
        m = _TAG_RE.match(html, pos) if html[pos] == "<" else None
        if m is None:  # text up to the next tag
            nxt = html.find("<", pos + 1)
            end = len(html) if nxt < 0 else nxt
            text = html[pos:end]
            room = budget - _closing_len(stack) - len(_ELLIPSIS)
            if len(text) > room:
                out.append(_cut_text(text, max(room, 0)) + (_ELLIPSIS if room > 0 else ""))
                break
            out.append(text)
            budget -= len(text)
            pos = end
            continue
        tag = m.group(0)
        name = m.group(2).lower()
        closing = bool(m.group(1))
        extra = 0 if closing or name in _VOID or tag.endswith("/>") else len(name) + 3
        if len(tag) + extra > budget - _closing_len(stack):
            break
        out.append(tag)
        budget -= len(tag)
        if closing:
            if name in stack:
                while stack and stack.pop() != name:
                    pass
        elif extra:
            stack.append(name)
        pos = m.end()
    out.extend(f"</{name}>" for name in reversed(stack))
    return "".join(out)


def _closing_len(stack: list[str]) -> int:
    return sum(len(name) + 3 for name in stack)


def _cut_text(text: str, room: int) -> str:
    """At most ``room`` characters of an HTML text run, never ending inside ``&…;``."""
    head = text[:room]
    amp = head.rfind("&")
    if amp >= 0 and ";" not in head[amp:]:
        head = head[:amp]
    return head


def cut_plain(text: str, max_chars: int) -> str:
    """``text`` unchanged when it fits, else cut on a character boundary to ``max_chars``
    characters, the last one "…" (for text kept as given, e.g. an OPML outline's title, whose
    line breaks an export must give back)."""
    if len(text) <= max_chars:
        return text
    return text[: max(max_chars - 1, 0)] + "…"
