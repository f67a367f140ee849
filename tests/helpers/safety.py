"""What sanitised HTML may hold, checked with a second parser (libxml2) rather than the one that
produced it."""

from __future__ import annotations

from urllib.parse import urlsplit

import lxml.html

# What the sanitiser may ever emit, written out independently of curation.ingest.clean so that a
# widened allow-list there fails here.
SAFE_TAGS = {
    "p", "br", "div", "hr", "a", "em", "strong", "b", "i", "u", "s", "del", "ins", "mark",
    "small", "sub", "sup", "abbr", "q", "cite", "code", "pre", "kbd", "samp", "var",
    "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "h3", "h4", "h5", "h6", "img", "figure",
    "figcaption", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
}  # fmt: skip
SAFE_ATTRS = {
    "a": {"href", "title", "rel"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
}
FORBIDDEN_SUBSTRINGS = (
    "<script", "</script", "<style", "<iframe", "<object", "<embed", "<svg", "<math", "<form",
    "<base", "<meta", "<link", "<!--", "javascript:", "vbscript:", "data:",
)  # fmt: skip


def assert_safe(out: str) -> None:
    """Structural check of sanitiser output with a second, different parser (libxml2)."""
    low = out.lower()
    for bad in FORBIDDEN_SUBSTRINGS:
        assert bad not in low, f"{bad!r} in {out!r}"
    assert "\x00" not in out
    if not out.strip():
        return
    root = lxml.html.fragment_fromstring(out, create_parent="div")
    for el in root.iterdescendants():
        assert isinstance(el.tag, str), f"comment or PI in {out!r}"
        assert el.tag in SAFE_TAGS, f"<{el.tag}> in {out!r}"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"{name}= in {out!r}"
            assert name in SAFE_ATTRS.get(el.tag, set()), f"{el.tag}[{name}] in {out!r}"
            if name in ("href", "src"):
                parts = urlsplit(value)
                allowed = {"http", "https"} if name == "src" else {"http", "https", "mailto"}
                assert parts.scheme in allowed, f"{name}={value!r} in {out!r}"
                if parts.scheme != "mailto":
                    assert parts.netloc, f"relative {name}={value!r} in {out!r}"
            if name == "rel":
                assert value == "noopener noreferrer nofollow"
            if name in ("width", "height", "colspan", "rowspan"):
                assert value.isdigit(), f"{name}={value!r}"
        if el.tag == "a":
            assert el.get("rel") == "noopener noreferrer nofollow"
