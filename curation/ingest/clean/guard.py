"""The parse-cost guard: which HTML is too costly to parse, and its text without a parser.

HTML5 tree building is quadratic in nesting depth: many start and end tags scan the stack of
open elements (``"<div>" * 40_000`` takes seconds in html5ever). The work is bounded by
(deepest stack) × (number of tags), so documents whose estimate exceeds the budget are not
parsed as HTML at all: :func:`parse_is_cheap` says so in linear time, and they degrade to
escaped plain text built by :func:`rough_paragraphs`. Both the sanitiser and the HTML-to-text
conversion ask here first.
"""

from __future__ import annotations

import html as htmllib
import re

from curation.textrules import DROPPED_RE as _CONTROL_RE

__all__ = ["parse_is_cheap", "rough_paragraphs"]

_FAST_PATH_TAGS = 1_500  # up to this many "<", any nesting is cheap enough (~25 ms worst case)
_PARSE_BUDGET = 2_000_000  # max (estimated depth × tags); ~25 ms of html5ever on a slow CPU
_TAG_TOKEN_RE = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_VOID_TAGS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "keygen", "frame", "basefont", "bgsound", "image",
    }
)  # fmt: skip
# Start tags that close an open element of their own kind, so a run of them does not nest.
_SELF_CLOSING_KINDS = frozenset(
    {"p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rp", "rtc"}
)


def parse_is_cheap(html: str) -> bool:
    """Whether parsing ``html`` as HTML5 is cheap; linear time, errs on the side of "no"."""
    tags = html.count("<")
    if tags <= _FAST_PATH_TAGS:
        return True
    stack: list[str] = []
    open_counts: dict[str, int] = {}
    deepest = 0
    for match in _TAG_TOKEN_RE.finditer(html):
        name = match[2].lower()
        if match[1]:  # an end tag pops down to the matching element; unmatched ones are ignored
            if open_counts.get(name):
                while True:
                    top = stack.pop()
                    open_counts[top] -= 1
                    if top == name:
                        break
        elif name not in _VOID_TAGS and name not in _SELF_CLOSING_KINDS:
            stack.append(name)
            open_counts[name] = open_counts.get(name, 0) + 1
            if len(stack) > deepest:
                deepest = len(stack)
                if deepest * tags > _PARSE_BUDGET:
                    return False
    return True


_ROUGH_BREAK_RE = re.compile(
    r"<\s*/?\s*(?:p|div|br|li|dt|dd|tr|h[1-6]|blockquote|pre|ul|ol|dl|table|hr|section)\b[^<>]*>",
    re.IGNORECASE,
)
_ROUGH_TAG_RE = re.compile(r"<[^<>]*>")


def rough_paragraphs(html: str) -> list[str]:
    """Text of ``html`` in linear time without an HTML parser, for documents too costly to parse.

    Block-level tags become paragraph breaks, other tags disappear, entities are decoded.
    (Text inside script/style elements is kept; it only ever leaves here escaped.)
    """
    text = _ROUGH_TAG_RE.sub("", _ROUGH_BREAK_RE.sub("\n", html))
    text = _CONTROL_RE.sub("", htmllib.unescape(text))
    return [line for line in (" ".join(chunk.split()) for chunk in text.split("\n")) if line]
