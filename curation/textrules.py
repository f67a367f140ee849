"""What counts as a control character, and what a single line of text is: one rule for the project.

Every place that takes text in (feeds, API bodies, interest phrases) or puts it out (e-mail
headers, plain-text parts) uses these, so that "no control characters" means the same thing
everywhere:

- a **control character** is any C0 control other than TAB, LF and CR, DEL, any C1 control
  (U+0080–U+009F), a lone UTF-16 surrogate (a JSON document can carry ``"\\ud800"``; PostgreSQL
  and the Rust sanitiser refuse them);
- a **line break** is LF, CR, VT, FF, NEL, U+2028 or U+2029; TAB is a space;
- text taken from feeds also loses the byte-order mark U+FEFF (:func:`strip_controls`); typed
  input may hold it (it is a zero-width no-break space, harmless in a search or a note).
"""

from __future__ import annotations

import re

CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# what strip_controls drops: the controls and the byte-order mark
DROPPED_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff]")
LINE_BREAK_RE = re.compile("[\n\r\x0b\x0c\x85\u2028\u2029]")

# whitespace controls that become whitespace before the rest are dropped
_SPACE_CONTROLS = str.maketrans({"\r": "\n", "\x0b": " ", "\x0c": " "})
_ASCII_CONTROLS = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
# everything one_line turns into a space: controls, line breaks and TAB
_NOT_ON_A_LINE = re.compile("[\t\n\r\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\u2028\u2029]")


def has_control(value: str) -> bool:
    """True when ``value`` holds a control character (TAB, LF and CR are not)."""
    return CONTROL_RE.search(value) is not None


def has_line_break(value: str) -> bool:
    return LINE_BREAK_RE.search(value) is not None


def strip_controls(value: str) -> str:
    """Drop control characters; CR and CRLF become LF, VT and FF become spaces; TAB, LF stay."""
    if value.isascii():  # the common case: one C-level pass instead of a regex scan
        raw = value.encode("ascii")
        if len(raw.translate(None, _ASCII_CONTROLS)) == len(raw):
            return value
    if "\r" in value or "\x0b" in value or "\x0c" in value:
        value = value.replace("\r\n", "\n").translate(_SPACE_CONTROLS)
    return DROPPED_RE.sub("", value)


def one_line(value: str | None) -> str:
    """``value`` on one line: control characters and line breaks become spaces, runs collapse."""
    if not value:
        return ""
    return " ".join(_NOT_ON_A_LINE.sub(" ", value).split())
