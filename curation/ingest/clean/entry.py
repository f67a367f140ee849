"""One parsed entry → one :class:`~curation.ingest.records.CleanItem`: keys, hashes, fields.

- :func:`clean_entry` — every cleaning step applied to one entry: safe link, GUID, sanitised
  HTML, plain text, title, author, dedupe key and content hash.
- :func:`fallback_guid` — a stable id (``urn:curation:sha1:…``) for entries whose feed gives
  none.

Everything here is pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from curation.ingest.clean.limits import (
    MAX_AUTHOR_CHARS,
    MAX_CONTENT_HTML_CHARS,
    MAX_GUID_BYTES,
    MAX_RAW_DATE_CHARS,
    MAX_SUMMARY_HTML_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    cut_html,
)
from curation.ingest.clean.sanitize import sanitize_html
from curation.ingest.clean.text import clean_text, html_to_text, sanitised_to_text, shorten_words
from curation.ingest.clean.urls import canonical_url, http_and_canonical_url
from curation.ingest.records import CleanItem, ParsedEntry

__all__ = ["FALLBACK_GUID_PREFIX", "UNTITLED", "clean_entry", "fallback_guid"]

#: Prefix of every GUID we make up; a feed would have to use it on purpose to collide.
FALLBACK_GUID_PREFIX = "urn:curation:sha1:"
_MAX_DEDUPE_URL_CHARS = 2000  # PostgreSQL b-tree entries must stay well under 2,704 bytes
_UNTITLED_CHARS = 80
# Raw HTML beyond this many times its cap is not even sanitised: the cut after sanitising would
# drop it anyway (sanitising removes markup, so keep a margin), and it bounds the work.
_RAW_HTML_FACTOR = 4
UNTITLED = "(untitled)"


def _sha1_urn(*fields: str) -> str:
    digest = hashlib.sha1("\x1f".join(fields).encode("utf-8"), usedforsecurity=False)
    return FALLBACK_GUID_PREFIX + digest.hexdigest()


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _date_key(value: datetime | None, raw: str | None) -> str:
    """What a date contributes to the content hash: its value, or, when the value is not the
    feed's own (clamped to the fetch time, or refused), the raw text. The same entry polled
    again later then hashes the same, so its first stored value is kept (clamped once)."""
    if raw is not None:
        return "raw:" + clean_text(raw, max_chars=MAX_RAW_DATE_CHARS)
    return _iso(value)


def _sanitised(html: str | None, base: str, max_chars: int) -> str:
    if html and len(html) > _RAW_HTML_FACTOR * max_chars:
        html = html[: _RAW_HTML_FACTOR * max_chars]
    return cut_html(sanitize_html(html, base_url=base), max_chars)


def _plain_title(entry: ParsedEntry, max_chars: int | None = None) -> str:
    raw = html_to_text(entry.title) if entry.title_is_html else entry.title
    return clean_text(raw, max_chars=max_chars)


def fallback_guid(entry: ParsedEntry) -> str:
    """A stable GUID for an entry whose feed gives none: ``urn:curation:sha1:<40 hex>``.

    Derived from the canonical link when there is an absolute http(s) one; otherwise from the
    title and publication date; otherwise from the text of the content (or summary). Each kind
    hashes under its own label, so a link and a title can never produce the same id. Same entry,
    same id, on every run: a clamped date counts by its raw text, not by the poll's time.
    """
    link = canonical_url(entry.link)
    if link:
        return _sha1_urn("link", link)
    title = _plain_title(entry)
    if title:
        return _sha1_urn("title", title, _date_key(entry.published, entry.published_raw))
    body = html_to_text(entry.content) or html_to_text(entry.summary)
    return _sha1_urn("body", body, _date_key(entry.published, entry.published_raw))


def _clean_guid(value: str | None) -> str:
    guid = clean_text(value)
    if len(guid.encode("utf-8")) > MAX_GUID_BYTES:
        # Truncating could make two long GUIDs equal; a hash of the whole one cannot.
        return _sha1_urn("guid", guid)
    return guid


def _content_hash(*fields: str | None) -> str:
    # Fields hold no control characters (cleaned above), so \x1f separates them unambiguously;
    # None is told apart from "" by a \x1e marker.
    payload = "\x1f".join(["\x1e" if f is None else f for f in fields])
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def clean_entry(
    entry: ParsedEntry, *, source_id: int, feed_url: str, max_title_chars: int = MAX_TITLE_CHARS
) -> CleanItem:
    """Turn one raw entry into a :class:`CleanItem` ready for storage.

    - ``url``: the entry link resolved against ``feed_url``; only http(s), else None.
    - ``guid``: the feed's GUID through :func:`clean_text` (hashed to
      ``urn:curation:sha1:…`` when longer than 1,000 UTF-8 bytes), or :func:`fallback_guid`.
    - ``title``: plain text (HTML titles converted), at most ``max_title_chars``; when empty,
      the first ~80 characters of the text, or ``"(untitled)"``.
    - ``summary_html``/``content_html``: :func:`sanitize_html` with base the entry's own
      (:attr:`ParsedEntry.base`: its ``xml:base`` or the document's URL), else ``url or feed_url``,
      cut at an element boundary to 100,000 / 500,000 chars (:mod:`.limits`).
    - ``text``: :func:`html_to_text` of the sanitised content, or of the summary when the
      content has no text; ≤ 100,000 chars.
    - ``author``: :func:`clean_text`, ≤ 200 chars, None when empty.
    - ``published_at``/``updated_at``: as parsed; the hash takes a clamped or refused date's
      raw text instead (see :func:`_date_key`).
    - ``dedupe_key``: :func:`canonical_url` of ``url`` (or ``urlsha256:<hex>`` of it when longer
      than 2,000 chars), else ``src:<source_id>:<guid>``.
    - ``content_hash``: SHA-256 hex over everything stored except the keys.
    """
    url, canonical = http_and_canonical_url(entry.link, feed_url)
    guid = _clean_guid(entry.guid) or fallback_guid(entry._replace(link=url))

    base = entry.base or url or feed_url
    summary_html = _sanitised(entry.summary, base, MAX_SUMMARY_HTML_CHARS)
    content_html = _sanitised(entry.content, base, MAX_CONTENT_HTML_CHARS)
    text = sanitised_to_text(content_html, max_chars=MAX_TEXT_CHARS) or sanitised_to_text(
        summary_html, max_chars=MAX_TEXT_CHARS
    )

    title = _plain_title(entry, max_title_chars)
    if not title:
        limit = min(_UNTITLED_CHARS, max_title_chars)
        title = shorten_words(text[: 4 * limit], limit) or UNTITLED
    author = clean_text(entry.author, max_chars=MAX_AUTHOR_CHARS) or None

    if canonical and len(canonical) > _MAX_DEDUPE_URL_CHARS:
        canonical = "urlsha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    dedupe_key = canonical or f"src:{source_id}:{guid}"

    content_hash = _content_hash(
        title,
        url,
        summary_html,
        content_html,
        author,
        _date_key(entry.published, entry.published_raw),
        _date_key(entry.updated, entry.updated_raw),
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
        published_raw=entry.published_raw,
        updated_raw=entry.updated_raw,
    )
