"""Plain text: of HTML fragments, of sanitised HTML, and of plain-text fields.

- :func:`html_to_text` — plain text of any HTML fragment, for ranking and e-mail (lxml parse).
- :func:`sanitised_to_text` — the same text from HTML that :func:`sanitize_html
  <curation.ingest.clean.sanitize.sanitize_html>` produced, in one pass over its tags and
  without a parser: the ingest hot path.
- :func:`clean_text` — plain-text fields (titles, author names): no control characters, NFC,
  collapsed whitespace, bounded length. Plain text stays text; escaping happens on output.
- :func:`shorten_words` — text cut at a word boundary, for made-up titles.

Both HTML conversions end in one line-joining step, so they give the same text.
"""

from __future__ import annotations

import html as htmllib
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable

from lxml import etree

from curation.ingest.clean.guard import parse_is_cheap, rough_paragraphs
from curation.ingest.clean.sanitize import DROPPED_WITH_CONTENT
from curation.textrules import DROPPED_RE as _CONTROL_RE
from curation.textrules import strip_controls as _strip_controls

__all__ = ["clean_text", "html_to_text", "sanitised_to_text", "shorten_words"]

# --------------------------------------------------------------------------------------------
# HTML to plain text
# --------------------------------------------------------------------------------------------

_SKIP_TEXT_TAGS = DROPPED_WITH_CONTENT | {"meta", "link", "base"}
_LINE_TAGS = frozenset({"br", "div", "li", "dt", "dd", "tr", "caption", "figcaption", "summary"})
_PARA_TAGS = frozenset(
    {
        "p", "pre", "blockquote", "ul", "ol", "dl", "table", "figure", "hr", "address",
        "article", "aside", "details", "footer", "header", "main", "nav", "section",
        "h1", "h2", "h3", "h4", "h5", "h6", "center", "fieldset",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
# what each of those tags puts between the text before and after it
_BREAKS = {
    **{tag: "\n\n" for tag in _PARA_TAGS},
    **{tag: "\n" for tag in _LINE_TAGS},
    **{tag: " " for tag in _CELL_TAGS},
}
_parsers = threading.local()


def _text_parser() -> etree.HTMLParser:
    # lxml parser objects must not be used by two threads at once: keep one per thread.
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.HTMLParser(
            remove_comments=True, remove_pis=True, no_network=True, recover=True,
            default_doctype=False, huge_tree=True, encoding="utf-8",
        )  # fmt: skip
        _parsers.parser = parser
    return parser


def html_to_text(html: str | None, *, max_chars: int | None = None) -> str:
    """Plain text of an HTML fragment, for ranking and plain-text e-mail.

    Tags are removed and entities decoded. Paragraph-level elements (p, headings, lists,
    tables, blockquote, pre…) are separated by a blank line; line-level ones (br, li, div,
    tr…) by a line break; table cells by a space. Within a line whitespace is collapsed to
    single spaces (``pre`` keeps its line breaks). The content of script, style, SVG, MathML,
    forms and the like is dropped, as are comments. ``max_chars`` cuts the result (no marker).
    """
    if not html:
        return ""
    html = _strip_controls(html)
    if not html.strip():
        return ""
    if not parse_is_cheap(html):
        text = "\n\n".join(rough_paragraphs(html))
        return text[:max_chars].rstrip() if max_chars is not None else text
    try:
        # Bytes with a fixed encoding: a str with an XML declaration is refused by lxml, and
        # a <meta charset> inside the fragment must not re-decode it.
        root = etree.fromstring(html.encode("utf-8"), _text_parser())
    except (etree.ParserError, ValueError):
        return ""
    if root is None:  # only comments / processing instructions
        return ""

    lines: list[tuple[str, str]] = []  # (text of a line, the break that ends it)
    line: list[str] = []
    pre_depth = 0

    def close(kind: str) -> None:
        lines.append((_CONTROL_RE.sub("", "".join(line)), kind))  # controls from ``&#1;``…
        line.clear()

    def text(value: str) -> None:
        if not pre_depth:
            line.append(value)
            return
        first, *rest = value.split("\n")  # pre keeps its line breaks
        line.append(first)
        for part in rest:
            close("\n")
            line.append(part)

    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if not isinstance(tag, str):  # comments and PIs, when the parser keeps them
            if event == "end" and el.tail:
                text(el.tail)
            continue
        if event == "start" and tag in _SKIP_TEXT_TAGS:  # (libxml2 gives lower-case names)
            walker.skip_subtree()
            continue
        kind = _BREAKS.get(tag)
        if kind == " ":
            line.append(kind)
        elif kind is not None:
            close(kind)
            if tag == "pre":
                pre_depth += 1 if event == "start" else -1
        value = el.text if event == "start" else el.tail
        if value:
            text(value)
    close("")
    return _join_lines(lines, max_chars)


def _join_lines(
    lines: Iterable[tuple[str, str]],
    max_chars: int | None,
    squash: Callable[[str], str] | None = None,
) -> str:
    """Lines of text, each with the break that ends it ("\n\n", "\n" or ""), → plain text.

    Whitespace within a line collapses to single spaces and empty lines disappear; between two
    lines of text goes the strongest break seen between them (a blank line or a newline).
    ``squash`` does the collapsing when the caller knows a cheaper way than :func:`_squash`.
    """
    spaces_only = squash is _strip_spaces  # (then done inline: one call less per line)
    squash = squash or _squash
    out: list[str] = []
    brk = ""  # the strongest break since the last line of text
    for raw, kind in lines:
        text = raw.strip(" ") if spaces_only else squash(raw)
        if text:
            if out:
                out.append(brk)
            out.append(text)
            brk = ""
        if brk != "\n\n":
            brk = kind
    result = "".join(out)
    if max_chars is not None and len(result) > max_chars:
        result = result[:max_chars].rstrip()
    return result


# A tag of sanitised HTML, split out with its end-tag slash and name (attribute values are
# double-quoted and have "<" escaped, so ">" inside them is the only thing to step over).
_SANITISED_TAG_RE = re.compile(r'<(/?)([a-z0-9]+)(?:[^>"]|"[^"]*")*>')
# ASCII characters str.split() treats as whitespace, except the space itself.
_ASCII_SPACES_BUT_SPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
_SPACE_RUN_RE = re.compile("  +")


def _strip_spaces(text: str) -> str:
    """:func:`_squash` of text whose only whitespace is single spaces (see _single_spaced)."""
    return text.strip(" ")


def _single_spaced(text: str) -> bool:
    """Whether ``text`` is ASCII whose only whitespace is spaces, never two in a row: then
    every part of it squashes by stripping its end spaces (:func:`_strip_spaces`)."""
    if "  " in text or not text.isascii():
        return False
    raw = text.encode("ascii")
    return len(raw.translate(None, _ASCII_SPACES_BUT_SPACE)) == len(raw)


def _single_spaced_sanitised(text: str) -> bool:
    """:func:`_single_spaced` of text from sanitised HTML, with three character searches for
    its byte pass: such text holds no control character but TAB, LF and CR (the sanitiser
    drops the others, those from ``&#…;`` references included, and no named reference makes
    one), so only those three of the whitespace controls can be in it."""
    return (
        "  " not in text
        and text.isascii()
        and "\n" not in text
        and "\t" not in text
        and "\r" not in text
    )


def _squash(text: str) -> str:
    """``" ".join(text.split())``, without splitting ASCII text whose only whitespace is spaces."""
    if text.isascii():
        raw = text.encode("ascii")
        if len(raw.translate(None, _ASCII_SPACES_BUT_SPACE)) == len(raw):  # spaces only
            return _SPACE_RUN_RE.sub(" ", text).strip(" ") if "  " in text else text.strip(" ")
    return " ".join(text.split())


# a character reference other than the four the sanitiser's serialiser writes in text
_OTHER_REFERENCE_RE = re.compile("&(?!(?:amp|lt|gt|nbsp);)")


def _unescape_sanitised(text: str) -> str:
    """``html.unescape(text)``, without its per-reference callback for the only references
    sanitised text holds (``&amp;``, ``&lt;``, ``&gt;``, ``&nbsp;``; ``&amp;`` last, so that
    ``&amp;lt;`` stays ``&lt;``)."""
    if "&" not in text:
        return text
    if _OTHER_REFERENCE_RE.search(text):
        return htmllib.unescape(text)
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\xa0")
        .replace("&amp;", "&")
    )


def sanitised_to_text(html: str, *, max_chars: int | None = None) -> str:
    """Plain text of HTML that :func:`sanitize_html` produced, without parsing it again.

    Sanitised HTML is well-formed, holds only allow-listed tags with double-quoted attributes,
    no comments, no script/style content and no control characters, so one pass over its tags
    is enough: this is several times faster than :func:`html_to_text` on the ingest hot path
    and gives the same text, except that newlines inside ``pre`` become spaces.
    """
    if not html:
        return ""
    pieces = _SANITISED_TAG_RE.split(html)  # text, (slash, name, text)*
    unescape = _unescape_sanitised if "&" in html else None  # (no reference: nothing to do)
    lines: list[tuple[str, str]] = []
    line = [pieces[0]]
    breaks = _BREAKS
    for name, after in zip(pieces[2::3], pieces[3::3], strict=True):
        kind = breaks.get(name)
        if kind is None:
            line.append(after)
        elif kind == " ":
            line += (kind, after)
        else:
            raw = "".join(line)
            lines.append((unescape(raw) if unescape else raw, kind))
            line = [after]
    raw = "".join(line)
    lines.append((unescape(raw) if unescape else raw, ""))
    # one check for the whole text instead of one per line (most entries pass it)
    squash = _strip_spaces if _single_spaced_sanitised("".join([raw for raw, _ in lines])) else None
    return _join_lines(lines, max_chars, squash)


# --------------------------------------------------------------------------------------------
# Plain-text fields
# --------------------------------------------------------------------------------------------

_ELLIPSIS = "…"
_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


def clean_text(value: str | None, *, max_chars: int | None = None) -> str:
    """Normalise a plain-text field (title, author name, GUID).

    Removes NUL and control characters, applies Unicode NFC, collapses every run of whitespace
    (including newlines) to one space and trims the ends. Entities are *not* decoded: plain text
    stays text and is escaped on output. When longer than ``max_chars`` the text is cut on a
    character boundary (never inside a combining sequence or an emoji joined with ZWJ) and ends
    with "…"; the result, ellipsis included, is at most ``max_chars`` long.

    With ``max_chars``, only a head of a long value is cleaned (grown while whitespace and
    controls leave it too short): an excerpt of a whole article costs its length, not the
    article's. The result is the same as cleaning it all.
    """
    if not value:
        return ""
    if max_chars is not None and max_chars >= 1:
        size = 4 * max_chars + _HEAD_MARGIN
        while size < len(value):
            head = _normalise(value[:size])
            # the head's end may split a word, or a combining sequence NFC would compose: the
            # margin keeps every character the cut looks at clear of it
            if len(head) > max_chars + _HEAD_MARGIN:
                return _cut(head, max_chars)
            size *= 2
    text = _normalise(value)
    if max_chars is None or len(text) <= max_chars:
        return text
    if max_chars < 1:
        return ""
    return _cut(text, max_chars)


_HEAD_MARGIN = 64


def _normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", _strip_controls(value)).split())


def _cut(text: str, max_chars: int) -> str:
    """``text`` (longer than ``max_chars``) cut to ``max_chars`` with the ellipsis."""
    cut = max_chars - 1  # room for the ellipsis
    while cut > 0 and (
        unicodedata.combining(text[cut]) or text[cut] in _JOINERS or text[cut - 1] == "\u200d"
    ):
        cut -= 1
    return text[:cut].rstrip() + _ELLIPSIS


def shorten_words(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary when one is near, with "…"."""
    full = clean_text(text)
    if len(full) <= limit:
        return full
    head = clean_text(full, max_chars=limit)[:-1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip() + _ELLIPSIS
