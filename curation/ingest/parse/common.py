"""Text, URL and encoding helpers shared by the lxml fast path and the feedparser fallback.

- URL resolution: :func:`resolve` (a reference against a base) and :func:`resolve_html` (quoted
  ``href``/``src``/``poster`` values inside an HTML string);
- markup text: :func:`html_to_plain` (rough text of a short HTML string such as a feed title)
  and :data:`HTML_TYPES` (the content types whose values are HTML);
- encoding detection: :func:`charset_override` (the encoding lxml must use instead of the
  document's own) and :func:`decode_body` (bytes → text for the fallback, with a warning when
  the encoding had to be guessed), both from the BOM, the XML declaration and the HTTP
  ``charset``, then strict UTF-8;
- control characters: :func:`without_xml_controls` (the bytes without the C0 controls XML 1.0
  forbids, for a second try of the fast path).

Used by :mod:`.fast` and :mod:`.fallback`; imports neither.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from html import unescape
from urllib.parse import urljoin, urlsplit

__all__ = [
    "HTML_TYPES",
    "charset_override",
    "decode_body",
    "html_to_plain",
    "resolve",
    "resolve_html",
    "without_xml_controls",
]

HTML_TYPES = frozenset({"html", "text/html", "xhtml", "application/xhtml+xml"})

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_URL_IGNORED = re.compile("[\t\n\r]")  # the URL standard removes these before parsing
_ATTR_VALUE = re.compile(r"""\s*=\s*(["'])([^"'<>]*)\1""")
_TAG = re.compile(r"<[A-Za-z/!?][^>]*(?:>|$)")
_NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?(?:-->|$)", re.IGNORECASE | re.DOTALL)
_MAX_PLAIN = 100_000
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_XML_DECL_ENC = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_WIDE = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"), (b"\x00\x00\x00<", "utf-32-be"),
         (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
         (b"<\x00?\x00", "utf-16-le"))  # fmt: skip


# --------------------------------------------------------------------------- URLs and text


def resolve(base: str | None, ref: str | None) -> str | None:
    if not ref:
        return None
    if not base or _SCHEME.match(ref):
        return ref
    if ref[0] == "/" and ref[1:2] != "/" and "/." not in ref and (origin := _origin(base)):
        return origin + ref  # the common root-relative case, without urljoin's cost
    try:
        return urljoin(base, ref)
    except ValueError:
        return ref


@lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


_URL_ATTRIBUTES = ("href", "src", "poster")
_ATTR_DELIMITERS = " \t\r\n\"'/"


def resolve_html(html: str, base: str | None) -> str:
    """Resolve relative ``href``/``src``/``poster`` attribute values (quoted) against ``base``."""
    if not base:
        return html
    if html.isascii():  # the names are found faster than the "=" signs, which text has many of
        return _resolve_ascii_html(html, base)
    fixes = []
    eq = html.find("=")
    while eq >= 0:  # every attribute has one; text rarely does
        end = eq
        while end and html[end - 1].isspace():
            end -= 1
        for name in _URL_ATTRIBUTES:
            start = end - len(name)
            if (
                start >= 0
                and html[start:end].lower() == name
                and (start == 0 or html[start - 1] in _ATTR_DELIMITERS)
            ):
                m = _ATTR_VALUE.match(html, end)
                # the scheme as a browser reads it: after character references
                # (``jav&#x61;script:`` is javascript:, not a relative path)
                if m and not _SCHEME.match(_as_read(m.group(2))):
                    fixes.append((m.start(2), m.end(2), resolve(base, m.group(2).strip()) or ""))
                break
        eq = html.find("=", eq + 1)
    return _apply(html, fixes)


def _resolve_ascii_html(html: str, base: str) -> str:
    """:func:`resolve_html` of ASCII ``html``: the same attributes, found by their names in the
    lower-cased text (an ASCII letter lower-cases to one letter, so positions stay)."""
    lower = html.lower()
    fixes = []
    for name in _URL_ATTRIBUTES:
        start = lower.find(name)
        while start >= 0:
            if start == 0 or html[start - 1] in _ATTR_DELIMITERS:
                m = _ATTR_VALUE.match(html, start + len(name))
                if m and not _SCHEME.match(_as_read(m.group(2))):
                    fixes.append((m.start(2), m.end(2), resolve(base, m.group(2).strip()) or ""))
            start = lower.find(name, start + 1)
    fixes.sort()  # by position: each is the value after its own "=", so they never overlap
    return _apply(html, fixes)


def _apply(html: str, fixes: list[tuple[int, int, str]]) -> str:
    if not fixes:
        return html
    out, last = [], 0
    for start, end, value in fixes:  # in order of position, never overlapping
        out += (html[last:start], value)
        last = end
    out.append(html[last:])
    return "".join(out)


# what a browser's URL parser drops from the start of a URL: C0 controls and space
_URL_LEADING = "".join(map(chr, range(0x21)))


def _as_read(value: str) -> str:
    """An attribute value as a browser's URL parser reads it: character references decoded,
    tabs and line breaks removed wherever they are, leading controls and spaces dropped."""
    if "&" in value:
        value = unescape(value)
    if "\t" in value or "\n" in value or "\r" in value:  # (rare: skip the regex pass)
        value = _URL_IGNORED.sub("", value)
    return value.lstrip(_URL_LEADING)


def html_to_plain(value: str | None) -> str | None:
    """Rough text of a short HTML string (feed titles): no scripts, styles, comments or tags."""
    if not value:
        return None
    text = unescape(_TAG.sub("", _NOT_TEXT.sub("", value[:_MAX_PLAIN])))
    return " ".join(text.split()) or None


# --------------------------------------------------------------------------- encodings


def _http_charset(content_type: str | None) -> str | None:
    m = _CHARSET.search(content_type or "")
    if m is None:
        return None
    try:
        codecs.lookup(m.group(1))
    except LookupError:
        return None
    return m.group(1)


def _sniff_wide(body: bytes) -> str | None:
    for prefix, codec in _WIDE:
        if body.startswith(prefix):
            return codec
    return None


def _same_codec(a: str, b: str) -> bool:
    try:
        return a.lower() == b.lower() or codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return False


def _declared(body: bytes) -> str:
    """The declared encoding (UTF-8 if none). A UTF-16/32 declaration on bytes that are not
    UTF-16/32 (no BOM, no wide ``<?``) contradicts itself and is read as UTF-8 instead."""
    m = _XML_DECL_ENC.match(body)
    name = m.group(1).decode("ascii") if m else "utf-8"
    try:
        wide = codecs.lookup(name).name.startswith(("utf-16", "utf-32"))
    except LookupError:
        return name
    return "utf-8" if wide else name


def _candidates(body: bytes, content_type: str | None) -> list[str]:
    """Encodings to try, best first: BOM; valid UTF-8 as declared; HTTP charset; declaration."""
    wide = _sniff_wide(body)
    if wide:
        return [wide]
    declared = _declared(body)
    http = _http_charset(content_type)
    order = [declared, http] if _same_codec(declared, "utf-8") else [http, declared]
    return [c for c in (*order, "utf-8", "windows-1252") if c]


def charset_override(body: bytes, content_type: str | None) -> str | None:
    """The encoding lxml must use instead of the document's own, or None to let it decide."""
    if _sniff_wide(body):
        return None
    m = _XML_DECL_ENC.match(body)
    own = m.group(1).decode("ascii") if m else "utf-8"  # what libxml2 would use by itself
    http = _http_charset(content_type)
    if _same_codec(own, _declared(body)) and (not http or _same_codec(http, own)):
        return None
    for codec in _candidates(body, content_type):
        try:
            body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        return None if _same_codec(codec, own) else codec
    return None


def decode_body(body: bytes, content_type: str | None) -> tuple[str, str | None]:
    """``body`` as text, and a warning when its encoding had to be guessed.

    The order: a byte-order mark; the XML declaration's encoding and the HTTP ``charset`` (valid
    UTF-8 is read as UTF-8 when the declaration says UTF-8 or nothing); then UTF-8, strictly.
    When none of these decodes the bytes, the fallback is documented and warned about:

    - bytes that are *mostly* UTF-8 (more valid multi-byte characters than invalid bytes: a
      UTF-8 document with a few stray bytes) stay UTF-8, each invalid byte becoming U+FFFD;
    - anything else is read as windows-1252 (which decodes every byte), the usual encoding of
      legacy feeds that declare none.
    """
    wide = _sniff_wide(body)
    if wide:
        try:
            return body.decode(wide), None
        except UnicodeDecodeError:
            return body.decode(wide, "replace"), f"not valid {wide}: invalid bytes replaced"
    for codec in _candidates(body, content_type)[:-1]:  # the last one is the windows-1252 guess
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        return text, None
    lenient = body.decode("utf-8", "replace")
    bad = lenient.count("\ufffd") - body.count(b"\xef\xbf\xbd")
    good = sum(1 for ch in lenient if ch > "\x7f" and ch != "\ufffd")
    if good > bad:
        return lenient, f"not valid UTF-8 in {bad} place(s) (replaced), and no other encoding fits"
    text = body.decode("windows-1252", "replace")
    return text, "not valid in the declared encoding or UTF-8: read as windows-1252"


# --------------------------------------------------------------------------- control characters

# C0 controls that XML 1.0 forbids even as references (TAB, LF and CR are allowed)
_XML_FORBIDDEN = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_VT_FF_TO_SPACE = bytes.maketrans(b"\x0b\x0c", b"  ")
_DROPPED = bytes([*range(0x00, 0x09), *range(0x0E, 0x20)])
# encodings in which a byte below 0x20 is always that control character, never part of another
# (not UTF-16/32, not ISO-2022's escapes, not EBCDIC)
_SINGLE_BYTE_CONTROLS = ("utf-8", "ascii", "latin-1", "iso8859-", "cp125", "koi8-")


def without_xml_controls(body: bytes, content_type: str | None) -> bytes | None:
    """``body`` without the C0 control characters XML 1.0 forbids, or None when it holds none
    or its encoding is not one where such a byte can only be a control character.

    A feed with one stray control character in its text is otherwise well-formed; with them
    gone the fast path reads it, instead of the fallback at twenty times the cost. They are
    dropped as the cleaner drops them (:func:`curation.textrules.strip_controls`): VT and FF
    become spaces, the others disappear. They would never reach what we store anyway."""
    if len(body.translate(None, _XML_FORBIDDEN)) == len(body) or _sniff_wide(body):
        return None
    m = _XML_DECL_ENC.match(body)
    encoding = charset_override(body, content_type) or (
        m.group(1).decode("ascii") if m else "utf-8"
    )
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    if not name.startswith(_SINGLE_BYTE_CONTROLS):
        return None
    return body.translate(_VT_FF_TO_SPACE, _DROPPED)
