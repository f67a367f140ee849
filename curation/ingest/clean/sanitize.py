"""The one HTML sanitiser: a strict nh3 (Ammonia) allow-list and its attribute/URL filter.

Every HTML field goes through :func:`sanitize_html` before storage; nothing else in the project
sanitises HTML, and we do not rely on feedparser's sanitiser. The allow-list is
:data:`ALLOWED_TAGS` and :data:`ALLOWED_ATTRIBUTES`; the attribute filter keeps only absolute
URLs with an allowed scheme (:func:`~curation.ingest.clean.urls.safe_url`) and plain integers
for sizes.
"""

from __future__ import annotations

import html as htmllib
import re
from contextvars import ContextVar

import nh3

from curation.ingest.clean.guard import parse_is_cheap, rough_paragraphs
from curation.ingest.clean.urls import HTTP_SCHEMES, safe_url
from curation.textrules import DROPPED_RE as _CONTROL_RE
from curation.textrules import strip_controls as _strip_controls

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "DROPPED_WITH_CONTENT", "sanitize_html"]

#: Tags kept by :func:`sanitize_html`. Other tags are unwrapped (their text is kept, escaped),
#: except :data:`DROPPED_WITH_CONTENT`, which disappear with everything inside them.
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

#: Removed together with their content, so that neither code nor raw-text payloads
#: (``<textarea><script>…``) survive even as escaped text.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "frame", "frameset", "noframes",
        "object", "embed", "applet", "svg", "math", "form", "button", "select", "option",
        "textarea", "xmp", "noembed", "plaintext", "title", "head",
    }
)  # fmt: skip

_LINK_REL = "noopener noreferrer nofollow"
_HREF_SCHEMES = frozenset({"http", "https", "mailto"})
_SRC_SCHEMES = HTTP_SCHEMES
_URL_ATTRIBUTES = frozenset({"href", "src"})
_DIGITS_RE = re.compile(r"[0-9]{1,4}")
_HEADING_RE = re.compile(r"<(/?)h([1-6])>")
# sanitised output is well-formed: an end tag never comes without its start tag
_OPENING_HEADING_RE = re.compile(r"<h[1-6]>")
_HEADING_DEMOTION = {str(n): str(min(n + 2, 6)) for n in range(1, 7)}

# The base URL of the sanitize_html call in progress, read by the attribute filter (the nh3
# Cleaner is built once; its callback runs synchronously inside Cleaner.clean, in this thread).
_current_base: ContextVar[str | None] = ContextVar("curation_clean_base", default=None)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "rel":  # the one the cleaner itself adds to every link
        return value
    if attribute in _URL_ATTRIBUTES:
        schemes = _SRC_SCHEMES if tag == "img" else _HREF_SCHEMES
        return safe_url(value, _current_base.get(), schemes)
    if attribute in ("width", "height", "colspan", "rowspan"):
        value = value.strip()
        return value if _DIGITS_RE.fullmatch(value) else None
    return value  # title, alt


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
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
    if not parse_is_cheap(html):
        return "".join(f"<p>{htmllib.escape(line)}</p>" for line in rough_paragraphs(html))
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
