"""Cleaning of parsed entries: the one HTML sanitiser, plain text, canonical URLs and stable keys.

This module owns everything between "what the feed said" (:class:`ParsedEntry`,
raw and possibly hostile) and "what we store" (:class:`~curation.ingest.records.CleanItem`):

- :func:`sanitize_html` — the single strict allow-list HTML sanitiser (nh3 / Ammonia). Every HTML
  field goes through it before storage; nothing else in the project sanitises HTML, and we do
  not rely on feedparser's sanitiser.
- :func:`html_to_text` — plain text of an HTML fragment, for ranking and e-mail.
- :func:`clean_text` — plain-text fields (titles, author names): no control characters, NFC,
  collapsed whitespace, bounded length. Plain text stays text; escaping happens on output.
- :func:`canonical_url` — the normalised URL used to recognise one article across sources.
- :func:`fallback_guid` — a stable id for entries whose feed gives none.
- :func:`clean_entry` — all of the above applied to one entry.

Everything here is pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import ipaddress
import re
import threading
import unicodedata
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime
from urllib.parse import unquote, urljoin, urlsplit

import nh3
from lxml import etree

from curation.ingest.records import CleanItem, ParsedEntry
from curation.textrules import DROPPED_RE as _CONTROL_RE
from curation.textrules import strip_controls as _strip_controls

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "FALLBACK_GUID_PREFIX",
    "TRACKING_PARAMS",
    "UNTITLED",
    "canonical_url",
    "clean_entry",
    "clean_text",
    "fallback_guid",
    "html_to_text",
    "sanitize_html",
]

# --------------------------------------------------------------------------------------------
# Parse-cost guard
# --------------------------------------------------------------------------------------------

# HTML5 tree building is quadratic in nesting depth: many start and end tags scan the stack of
# open elements (``"<div>" * 40_000`` takes seconds in html5ever). The work is bounded by
# (deepest stack) × (number of tags), so documents whose estimate exceeds the budget are not
# parsed as HTML at all: they degrade to escaped plain text (see _rough_paragraphs).
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


def _parse_is_cheap(html: str) -> bool:
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


def _rough_paragraphs(html: str) -> list[str]:
    """Text of ``html`` in linear time without an HTML parser, for documents too costly to parse.

    Block-level tags become paragraph breaks, other tags disappear, entities are decoded.
    (Text inside script/style elements is kept; it only ever leaves here escaped.)
    """
    text = _ROUGH_TAG_RE.sub("", _ROUGH_BREAK_RE.sub("\n", html))
    text = _CONTROL_RE.sub("", htmllib.unescape(text))
    return [line for line in (" ".join(chunk.split()) for chunk in text.split("\n")) if line]


# --------------------------------------------------------------------------------------------
# HTML sanitising
# --------------------------------------------------------------------------------------------

#: Tags kept by :func:`sanitize_html`. Other tags are unwrapped (their text is kept, escaped),
#: except :data:`_DROPPED_WITH_CONTENT`, which disappear with everything inside them.
#: ``span`` is deliberately absent: with no attributes allowed it carries nothing, so unwrapping
#: it is lossless. ``div`` is present (without attributes) because unwrapping it would run
#: adjacent blocks of text together.
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "div", "hr",
        "a", "em", "strong", "b", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup",
        "abbr", "q", "cite", "code", "pre", "kbd", "samp", "var", "blockquote",
        "ul", "ol", "li", "dl", "dt", "dd",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "img", "figure", "figcaption",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    }
)  # fmt: skip

#: Attributes kept, per tag. Nothing is allowed globally (no ``style``, ``class``, ``id``, ``on*``).
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
    "abbr": frozenset({"title"}),
}

# Removed together with their content, so that neither code nor raw-text payloads
# (``<textarea><script>…``) survive even as escaped text.
_DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "frame", "frameset", "noframes",
        "object", "embed", "applet", "svg", "math", "form", "button", "select", "option",
        "textarea", "xmp", "noembed", "plaintext", "title", "head",
    }
)  # fmt: skip

_LINK_REL = "noopener noreferrer nofollow"
_HREF_SCHEMES = frozenset({"http", "https", "mailto"})
_SRC_SCHEMES = frozenset({"http", "https"})
_HTTP_SCHEMES = _SRC_SCHEMES
_URL_ATTRIBUTES = frozenset({"href", "src"})
_DIGITS_RE = re.compile(r"[0-9]{1,4}")
_HEADING_RE = re.compile(r"<(/?)h([1-6])>")
# sanitised output is well-formed: an end tag never comes without its start tag
_OPENING_HEADING_RE = re.compile(r"<h[1-6]>")
_HEADING_DEMOTION = {str(n): str(min(n + 2, 6)) for n in range(1, 7)}
# What browsers strip from both ends of a URL attribute (C0 controls and space) and remove
# anywhere inside it (TAB, LF, CR): ``jav&#x09;ascript:`` is ``javascript:`` to a browser.
_URL_EDGE_CHARS = "".join(chr(c) for c in range(0x21))


def _squeeze_url(value: str) -> str:
    url = value.strip(_URL_EDGE_CHARS)
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    return url


# The base URL of the sanitize_html call in progress, read by the attribute filter (the nh3
# Cleaner is built once; its callback runs synchronously inside Cleaner.clean, in this thread).
_current_base: ContextVar[str | None] = ContextVar("curation_clean_base", default=None)


def _safe_url(value: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """An absolute URL with one of ``schemes``, resolving relative ones against ``base_url``.

    Returns None (drop the attribute) for anything else, including relative URLs with no base.
    """
    if _SIMPLE_URL_RE.fullmatch(value):  # absolute http(s), nothing to strip: most links
        return value
    return _safe_url_general(value, base_url, schemes)


def _safe_url_general(value: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    url = _squeeze_url(value)
    if not url:
        return None
    try:
        parts = urlsplit(url)
        if not parts.scheme:
            if base_url is None:
                return None
            url = urljoin(base_url, url)
            parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return None
    if scheme in _HTTP_SCHEMES:
        host = parts.netloc.rpartition("@")[2]
        if not host or host[0] == ":":
            return None
    return url


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "rel":  # the one the cleaner itself adds to every link
        return value
    if attribute in _URL_ATTRIBUTES:
        schemes = _SRC_SCHEMES if tag == "img" else _HREF_SCHEMES
        return _safe_url(value, _current_base.get(), schemes)
    if attribute in ("width", "height", "colspan", "rowspan"):
        value = value.strip()
        return value if _DIGITS_RE.fullmatch(value) else None
    return value  # title, alt


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    attributes={"*": set(), **{tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()}},
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel=_LINK_REL,
    url_schemes=set(_HREF_SCHEMES),  # a second gate; _filter_attribute is the stricter one
    url_relative="pass_through",  # relative URLs reach _filter_attribute, which resolves them
)


def sanitize_html(html: str | None, *, base_url: str | None = None) -> str:
    """Sanitise an untrusted HTML fragment with one strict allow-list (nh3 / Ammonia).

    - Tags: :data:`ALLOWED_TAGS`; attributes: :data:`ALLOWED_ATTRIBUTES` (no ``style``, no
      ``class``/``id``, no event handlers). Unknown tags are unwrapped, their text kept and
      escaped. Scripts, styles, embedded objects, frames, forms, SVG and MathML are removed
      together with their content. Comments are removed.
    - ``href`` must be http, https or mailto; ``img src`` http or https. Relative URLs are
      resolved against ``base_url``; with no usable base they are dropped, so every URL in the
      output is absolute. ``width``/``height``/``colspan``/``rowspan`` must be plain integers.
    - Every link gets ``rel="noopener noreferrer nofollow"``.
    - Headings are demoted by two levels (h1→h3, h2→h4, h3→h5, h4–h6→h6) so that feed content
      never outranks the page it is shown in.
    - NUL and C0/C1 control characters (except TAB and LF) are removed, before and after
      parsing (character references such as ``&#1;`` decode to controls).
    - Pathologically nested input (which would take the HTML5 parser seconds) is not parsed:
      it comes back as its text, escaped, in ``<p>`` paragraphs.

    Returns ``""`` for None or empty input. The output is safe to insert into an HTML page or
    e-mail as is.
    """
    if not html:
        return ""
    html = _strip_controls(html)
    if not _parse_is_cheap(html):
        return "".join(f"<p>{htmllib.escape(line)}</p>" for line in _rough_paragraphs(html))
    token = _current_base.set(base_url)
    try:
        out = _CLEANER.clean(html)
    finally:
        _current_base.reset(token)
    if _OPENING_HEADING_RE.search(out):  # (a literal-prefix search: faster than ``in``)
        # Safe on serialised output: text and attribute values have "<" escaped, and allowed
        # headings carry no attributes, so only real heading tags match.
        out = _HEADING_RE.sub(lambda m: f"<{m[1]}h{_HEADING_DEMOTION[m[2]]}>", out)
    # Controls were stripped from the input; only character references (``&#1;``) can bring
    # new ones back through the parser. (A one-character ``in`` is a memchr: test it first.)
    return _CONTROL_RE.sub("", out) if "&" in html and "&#" in html else out


# --------------------------------------------------------------------------------------------
# HTML to plain text
# --------------------------------------------------------------------------------------------

_SKIP_TEXT_TAGS = _DROPPED_WITH_CONTENT | {"meta", "link", "base"}
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
            remove_comments=True,
            remove_pis=True,
            no_network=True,
            recover=True,
            default_doctype=False,
            huge_tree=True,
            encoding="utf-8",
        )
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
    if not _parse_is_cheap(html):
        text = "\n\n".join(_rough_paragraphs(html))
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


def _join_lines(lines: Iterable[tuple[str, str]], max_chars: int | None) -> str:
    """Lines of text, each with the break that ends it ("\n\n", "\n" or ""), → plain text.

    Whitespace within a line collapses to single spaces and empty lines disappear; between two
    lines of text goes the strongest break seen between them (a blank line or a newline).
    """
    out: list[str] = []
    brk = ""  # the strongest break since the last line of text
    for raw, kind in lines:
        text = _squash(raw)
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


def _squash(text: str) -> str:
    """``" ".join(text.split())``, without splitting ASCII text whose only whitespace is spaces."""
    if text.isascii():
        raw = text.encode("ascii")
        if len(raw.translate(None, _ASCII_SPACES_BUT_SPACE)) == len(raw):  # spaces only
            return _SPACE_RUN_RE.sub(" ", text).strip(" ") if "  " in text else text.strip(" ")
    return " ".join(text.split())


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
    lines: list[tuple[str, str]] = []
    line = [pieces[0]]
    for i in range(2, len(pieces), 3):
        kind = _BREAKS.get(pieces[i])
        if kind is None or kind == " ":
            if kind:
                line.append(kind)
            line.append(pieces[i + 1])
        else:
            lines.append((htmllib.unescape("".join(line)), kind))
            line = [pieces[i + 1]]
    lines.append((htmllib.unescape("".join(line)), ""))
    return _join_lines(lines, max_chars)


# --------------------------------------------------------------------------------------------
# Plain text
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
    """
    if not value:
        return ""
    text = " ".join(unicodedata.normalize("NFC", _strip_controls(value)).split())
    if max_chars is None or len(text) <= max_chars:
        return text
    if max_chars < 1:
        return ""
    cut = max_chars - 1  # room for the ellipsis
    while cut > 0 and (
        unicodedata.combining(text[cut]) or text[cut] in _JOINERS or text[cut - 1] == "\u200d"
    ):
        cut -= 1
    return text[:cut].rstrip() + _ELLIPSIS


def _shorten_words(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary when one is near, with "…"."""
    full = clean_text(text)
    if len(full) <= limit:
        return full
    head = clean_text(full, max_chars=limit)[:-1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip() + _ELLIPSIS


# --------------------------------------------------------------------------------------------
# Canonical URLs
# --------------------------------------------------------------------------------------------

#: Query parameters that only track the click; dropped by :func:`canonical_url` (case-insensitive),
#: together with every parameter whose name starts with ``utm_``.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
        "__hstc", "__hssc", "__hsfp", "hsctatracking", "mkt_tok", "oly_anon_id", "oly_enc_id",
        "rb_clickid", "s_cid", "vero_conv", "vero_id", "wickedid", "_openstat", "ref_src",
        "ref_url", "spm", "ncid", "sr_share", "cmpid", "at_medium", "at_campaign",
    }
)  # fmt: skip

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Anything that is neither a %XX escape nor allowed unescaped in the component, or a stray "%".
_PATH_UNSAFE_RE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/]")
_QUERY_UNSAFE_RE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]")
_HOST_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalize_escape(match: re.Match[str]) -> str:
    token = match.group()
    if len(token) == 3 and token[0] == "%":
        char = chr(int(token[1:], 16))
        return char if char in _UNRESERVED else token.upper()
    return "".join(f"%{byte:02X}" for byte in token.encode("utf-8"))


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _canonical_host(hostname: str) -> str | None:
    if ":" in hostname:  # IPv6 literal (urlsplit has removed the brackets)
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError:
            return None
    host = unquote(hostname)
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")  # IDNA 2003 (stdlib), with nameprep
        except UnicodeError:
            return None
    host = host.lower()
    return host if _HOST_RE.fullmatch(host) else None


# An absolute http(s) URL that is already canonical up to its query and fragment: lower-case
# scheme and host, no userinfo or port, no escapes, no dot segments (checked apart), nothing a
# browser would strip. Most feed links look like this; they skip urlsplit and the escape passes.
_SIMPLE_URL_RE = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?"
    r"(?:\?([A-Za-z0-9\-._~!$&'()*+,;=:@/?]*))?(?:#[^\x00-\x20\x7f-\x9f]*)?"
)


def _simple_canonical(url: str) -> str | None:
    """:func:`canonical_url` of a URL matching :data:`_SIMPLE_URL_RE`, else None (slow path)."""
    match = _SIMPLE_URL_RE.fullmatch(url)
    if match is None:
        return None
    scheme, host, path, query = match.groups()
    if not path:
        path = "/"
    elif "/." in path:
        return None
    if not query:
        return f"{scheme}://{host}{path}"
    kept = []
    for param in query.split("&"):
        if not param:
            continue
        name = param.split("=", 1)[0].replace("+", " ").strip().lower()
        if not (name.startswith("utm_") or name in TRACKING_PARAMS):
            kept.append(param)
    return f"{scheme}://{host}{path}?{'&'.join(kept)}" if kept else f"{scheme}://{host}{path}"


def canonical_url(url: str | None, *, base_url: str | None = None) -> str | None:
    """The normalised form of an article URL, for recognising one article across sources.

    Resolves ``url`` against ``base_url``; keeps only http and https (anything else → None);
    lower-cases scheme and host; IDNA-encodes non-ASCII hosts; drops userinfo, default ports,
    the fragment and tracking parameters (``utm_*`` and :data:`TRACKING_PARAMS`, any case) while
    keeping the other parameters in their order; removes an empty query; turns an empty path
    into ``/``; removes ``.``/``..`` segments; normalises percent-encoding (upper-case escapes,
    unreserved characters decoded, spaces and non-ASCII encoded as UTF-8, reserved escapes such
    as ``%2F`` left alone), so already-encoded URLs keep their meaning.

    The scheme is kept: ``http://x/a`` and ``https://x/a`` are different keys (a site may serve
    different things on each, and merging would let a plain-HTTP feed claim an HTTPS article).
    ``www.`` is kept for the same reason. Returns None for garbage.
    """
    if not url:
        return None
    if base_url is None and (simple := _simple_canonical(url)) is not None:
        return simple
    return _canonical_url_general(url, base_url)


def _canonical_url_general(url: str, base_url: str | None) -> str | None:
    value = _squeeze_url(_strip_controls(url))
    if not value:
        return None
    try:
        if base_url:
            value = urljoin(_strip_controls(base_url).strip(_URL_EDGE_CHARS), value)
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _HTTP_SCHEMES or not parts.hostname:
        return None
    host = _canonical_host(parts.hostname)
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"

    path = _PATH_UNSAFE_RE.sub(_normalize_escape, parts.path.replace("\\", "/"))
    path = _remove_dot_segments(path) or "/"
    if not path.startswith("/"):
        path = "/" + path

    kept = []
    for param in parts.query.split("&"):
        if not param:
            continue
        name = unquote(param.split("=", 1)[0].replace("+", " ")).strip().lower()
        if name.startswith("utm_") or name in TRACKING_PARAMS:
            continue
        kept.append(_QUERY_UNSAFE_RE.sub(_normalize_escape, param))
    query = "&".join(kept)
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"


def _http_url(link: str | None, base_url: str | None) -> str | None:
    """``link`` resolved against ``base_url`` when it is (or becomes) an http(s) URL, else None."""
    if not link:
        return None
    return _safe_url(_strip_controls(link), base_url, _HTTP_SCHEMES)


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------

#: Prefix of every GUID we make up; a feed would have to use it on purpose to collide.
FALLBACK_GUID_PREFIX = "urn:curation:sha1:"
_MAX_GUID_BYTES = 1000
_MAX_DEDUPE_URL_CHARS = 2000  # PostgreSQL b-tree entries must stay well under 2,704 bytes
_MAX_TEXT_CHARS = 100_000
_MAX_AUTHOR_CHARS = 200
_UNTITLED_CHARS = 80
UNTITLED = "(untitled)"


def _sha1_urn(*fields: str) -> str:
    digest = hashlib.sha1("\x1f".join(fields).encode("utf-8"), usedforsecurity=False)
    return FALLBACK_GUID_PREFIX + digest.hexdigest()


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _plain_title(entry: ParsedEntry, max_chars: int | None = None) -> str:
    raw = html_to_text(entry.title) if entry.title_is_html else entry.title
    return clean_text(raw, max_chars=max_chars)


def fallback_guid(entry: ParsedEntry) -> str:
    """A stable GUID for an entry whose feed gives none: ``urn:curation:sha1:<40 hex>``.

    Derived from the canonical link when there is an absolute http(s) one; otherwise from the
    title and publication date; otherwise from the text of the content (or summary). Each kind
    hashes under its own label, so a link and a title can never produce the same id. Same entry,
    same id, on every run.
    """
    link = canonical_url(entry.link)
    if link:
        return _sha1_urn("link", link)
    title = _plain_title(entry)
    if title:
        return _sha1_urn("title", title, _iso(entry.published))
    body = html_to_text(entry.content) or html_to_text(entry.summary)
    return _sha1_urn("body", body, _iso(entry.published))


def _clean_guid(value: str | None) -> str:
    guid = clean_text(value)
    if len(guid.encode("utf-8")) > _MAX_GUID_BYTES:
        # Truncating could make two long GUIDs equal; a hash of the whole one cannot.
        return _sha1_urn("guid", guid)
    return guid


def _content_hash(*fields: str | None) -> str:
    # Fields hold no control characters (cleaned above), so \x1f separates them unambiguously;
    # None is told apart from "" by a \x1e marker.
    payload = "\x1f".join("\x1e" if f is None else f for f in fields)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def clean_entry(
    entry: ParsedEntry, *, source_id: int, feed_url: str, max_title_chars: int = 500
) -> CleanItem:
    """Turn one raw entry into a :class:`CleanItem` ready for storage.

    - ``url``: the entry link resolved against ``feed_url``; only http(s), else None.
    - ``guid``: the feed's GUID through :func:`clean_text` (hashed to
      ``urn:curation:sha1:…`` when longer than 1,000 UTF-8 bytes), or :func:`fallback_guid`.
    - ``title``: plain text (HTML titles converted), at most ``max_title_chars``; when empty,
      the first ~80 characters of the text, or ``"(untitled)"``.
    - ``summary_html``/``content_html``: :func:`sanitize_html` with base ``url or feed_url``.
    - ``text``: :func:`html_to_text` of the sanitised content, or of the summary when the
      content has no text; ≤ 100,000 chars.
    - ``author``: :func:`clean_text`, ≤ 200 chars, None when empty.
    - ``dedupe_key``: :func:`canonical_url` of ``url`` (or ``urlsha256:<hex>`` of it when longer
      than 2,000 chars), else ``src:<source_id>:<guid>``.
    - ``content_hash``: SHA-256 hex over everything stored except the keys.
    """
    url = _http_url(entry.link, feed_url)
    guid = _clean_guid(entry.guid) or fallback_guid(entry._replace(link=url))

    base = url or feed_url
    summary_html = sanitize_html(entry.summary, base_url=base)
    content_html = sanitize_html(entry.content, base_url=base)
    text = sanitised_to_text(content_html, max_chars=_MAX_TEXT_CHARS) or sanitised_to_text(
        summary_html, max_chars=_MAX_TEXT_CHARS
    )

    title = _plain_title(entry, max_title_chars)
    if not title:
        limit = min(_UNTITLED_CHARS, max_title_chars)
        title = _shorten_words(text[: 4 * limit], limit) or UNTITLED
    author = clean_text(entry.author, max_chars=_MAX_AUTHOR_CHARS) or None

    canonical = canonical_url(url)
    if canonical and len(canonical) > _MAX_DEDUPE_URL_CHARS:
        canonical = "urlsha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    dedupe_key = canonical or f"src:{source_id}:{guid}"

    content_hash = _content_hash(
        title,
        url,
        summary_html,
        content_html,
        author,
        _iso(entry.published),
        _iso(entry.updated),
    )
    return CleanItem(
        guid=guid,
        dedupe_key=dedupe_key,
        title=title,
        url=url,
        summary_html=summary_html,
        content_html=content_html,
        text=text,
        author=author,
        published_at=entry.published,
        updated_at=entry.updated,
        content_hash=content_hash,
    )
