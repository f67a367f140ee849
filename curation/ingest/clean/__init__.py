"""Cleaning of parsed entries: the one HTML sanitiser, plain text, canonical URLs and stable keys.

This stage owns everything between "what the feed said" (:class:`ParsedEntry`, raw and possibly
hostile) and "what we store" (:class:`~curation.ingest.records.CleanItem`). Its modules:

- :mod:`.guard` — the parse-cost guard: HTML too deeply nested to parse becomes rough text.
- :mod:`.sanitize` — :func:`sanitize_html`, the single strict allow-list HTML sanitiser (nh3 /
  Ammonia) and its attribute filter. Nothing else in the project sanitises HTML, and we do not
  rely on feedparser's sanitiser.
- :mod:`.text` — :func:`html_to_text`, :func:`sanitised_to_text` and :func:`clean_text` (plain
  text fields: no control characters, NFC, collapsed whitespace, bounded length).
- :mod:`.urls` — :func:`canonical_url`, safe absolute URLs and :data:`TRACKING_PARAMS`.
- :mod:`.entry` — :func:`clean_entry` (all of the above applied to one entry) and
  :func:`fallback_guid`.
- :mod:`.limits` — the size cap of every stored text field, and :func:`cut_html`.
- :mod:`.source` — a feed's own title and home-page link as stored on its source.

Everything here is pure: no I/O, no clock, no randomness. The control-character rule is
:mod:`curation.textrules`'s.
"""

from __future__ import annotations

from curation.ingest.clean.entry import FALLBACK_GUID_PREFIX, UNTITLED, clean_entry, fallback_guid
from curation.ingest.clean.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, sanitize_html
from curation.ingest.clean.source import source_link, source_title
from curation.ingest.clean.text import clean_text, html_to_text, sanitised_to_text
from curation.ingest.clean.urls import TRACKING_PARAMS, canonical_url

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
    "sanitised_to_text",
    "sanitize_html",
    "source_link",
    "source_title",
]
