"""What an item link we show a reader is: one rule for the e-mail, chat posts, the published
feeds and xAPI statements.

A link is shown only if it is an absolute ``http`` or ``https`` URL with a host; anything else
(``javascript:``, ``mailto:``, a relative path, an empty string) is shown as no link at all.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def web_url(url: str | None) -> str | None:
    """``url`` (without surrounding whitespace) if it is an absolute http(s) URL, else None."""
    if not url:
        return None
    url = url.strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None
