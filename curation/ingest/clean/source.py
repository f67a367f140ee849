"""What a feed says about itself, as stored on its source: its title and its home-page link.

One rule for every door a feed's own fields come in by (ingest, :mod:`curation.ingest.document`;
the check of a new source, :mod:`curation.ingest.discover`):

- :func:`source_title` — plain text on one line, decoded once by the parser, at most
  :data:`~.limits.MAX_SOURCE_TITLE_CHARS` characters (cut on a character boundary, "…").
- :func:`source_link` — :func:`~.urls.site_url`: an absolute http(s) URL without credentials,
  at most :data:`~.limits.MAX_URL_CHARS` characters, or None (``javascript:``, ``data:``,
  ``vbscript:``, host-less or unparsable links are never stored, so never served).
"""

from __future__ import annotations

from curation.ingest.clean.limits import MAX_SOURCE_TITLE_CHARS
from curation.ingest.clean.text import clean_text
from curation.ingest.clean.urls import site_url

__all__ = ["source_link", "source_title"]


def source_title(title: str | None) -> str | None:
    """A feed's title as stored on its source, or None when it has none."""
    return clean_text(title, max_chars=MAX_SOURCE_TITLE_CHARS) or None


def source_link(link: str | None, feed_url: str | None) -> str | None:
    """A feed's home-page link (resolved against the feed's URL) as stored, or None."""
    return site_url(link, feed_url)
