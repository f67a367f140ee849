"""Read and write OPML subscription lists.

Curators move their sources in and out of curation as OPML, and the default source list ships
as ``feeds.opml``. This module is pure: bytes or text in, dataclasses out, no database and no
network.

Reading (:func:`read_opml`, or :func:`parse_opml` for just the sources):

* OPML 1.0, 1.1 and 2.0. An ``<outline>`` with an ``xmlUrl`` attribute (any letter case, so the
  ``xmlurl`` some old exporters write works too) is a source; ``type="rss"``/``"atom"`` outlines
  that carry the feed address in ``url`` instead are accepted as well. An outline without one is a
  category, and nested categories become a path such as ``("Technology", "Python")``.
* A source that sits under no named category may still carry the OPML 2.0 ``category``
  attribute (``"/Technology/Python"``, or several comma-separated entries, of which the first is
  used).
* The title is ``title``, falling back to ``text``. Titles and category names are stripped of
  surrounding whitespace; an empty title becomes ``None`` and an unnamed folder adds nothing to
  the path.
* Only ``http``/``https`` feed addresses are kept (``feed://`` is read as ``http://``). Anything
  else, duplicates (the first one wins) and ``type="include"`` outlines are skipped and listed as
  :class:`OPMLProblem` entries, with the line they came from, so a curator can be told.
* The document is parsed without loading DTDs, without the network and without resolving
  external entities; a document that declares entities at all (billion laughs, XXE) is refused,
  as are documents over :data:`MAX_OPML_BYTES` or with more than :data:`MAX_OUTLINES` outlines.
  Anything that is not an OPML document raises :class:`~curation.errors.OPMLError`.

Writing (:func:`export_opml`) produces OPML 2.0 with categories as nested outlines, in the order
the sources are given. Reading back what was written gives the same sources again, as long as the
values are in the form reading produces (no surrounding whitespace, no empty titles or category
names, no characters XML 1.0 cannot carry).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import etree

from curation.errors import OPMLError
from curation.ingest.clean.limits import MAX_SOURCE_TITLE_CHARS, cut_plain
from curation.ingest.clean.source import source_link

__all__ = [
    "MAX_OPML_BYTES",
    "MAX_OUTLINES",
    "MAX_URL_LENGTH",
    "OPMLImport",
    "OPMLProblem",
    "OPMLSource",
    "export_opml",
    "parse_opml",
    "read_opml",
]

MAX_OPML_BYTES = 10 * 1024 * 1024
"""Largest document accepted (10 MiB): far above any real subscription list."""

MAX_OUTLINES = 10_000
"""Most ``<outline>`` elements (sources and categories together) in one document."""

MAX_URL_LENGTH = 2048
"""Longest feed or site address kept."""


@dataclass(frozen=True)
class OPMLSource:
    """One feed from an OPML document."""

    url: str
    title: str | None
    category: tuple[str, ...]
    """Path of enclosing category titles, outermost first; ``()`` for a top-level source."""
    html_url: str | None = None
    line: int | None = field(default=None, compare=False)
    """Where the outline starts in the document it was read from (not part of its identity)."""


@dataclass(frozen=True)
class OPMLProblem:
    """An outline that was skipped, or a value that was dropped, while reading."""

    reason: str
    line: int | None = None
    url: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class OPMLImport:
    """Everything :func:`read_opml` found: the sources kept and what was left out and why."""

    sources: tuple[OPMLSource, ...]
    problems: tuple[OPMLProblem, ...]
    title: str | None = None


# --------------------------------------------------------------------------------------------
# Reading

_FEED_TYPES = frozenset({"rss", "atom"})
_XML_DECLARATION = re.compile(r"\A\s*<\?xml\s[^>]*\?>")


def parse_opml(data: bytes | str) -> list[OPMLSource]:
    """Return the feed sources in an OPML document, first occurrence of each URL only.

    Raises :class:`~curation.errors.OPMLError` when ``data`` is not a readable OPML document.
    Outlines that were skipped are not reported here; use :func:`read_opml` for those.
    """
    return list(read_opml(data).sources)


def read_opml(data: bytes | str) -> OPMLImport:
    """Parse an OPML document into its sources, the problems met, and the document's title."""
    root = _parse_xml(data)
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise OPMLError(_wrong_root_message(root))
    body = _child(root, "body")
    if body is None:
        raise OPMLError("not an OPML document: <opml> has no <body> element")
    head = _child(root, "head")
    head_title = None
    if head is not None:
        title_el = _child(head, "title")
        if title_el is not None:
            head_title = _clean(title_el.text)

    sources: list[OPMLSource] = []
    problems: list[OPMLProblem] = []
    seen: set[str] = set()
    outlines = 0

    # Depth-first, in document order, without recursion; each entry carries the category path
    # of the outlines under it.
    stack: list[tuple[etree._Element, tuple[str, ...]]] = [
        (el, ()) for el in reversed(_outlines(body))
    ]
    while stack:
        el, path = stack.pop()
        outlines += 1
        if outlines > MAX_OUTLINES:
            raise OPMLError(f"OPML document has more than {MAX_OUTLINES:,} outlines")
        attrs = _attributes(el)
        children = _outlines(el)
        line = el.sourceline
        title = _clean(attrs.get("title")) or _clean(attrs.get("text"))
        kind = (attrs.get("type") or "").strip().lower()
        raw_url = attrs.get("xmlurl")
        if not (raw_url and raw_url.strip()) and kind in _FEED_TYPES:
            raw_url = attrs.get("url")

        if raw_url and raw_url.strip():
            source = _source(raw_url, title, path, attrs, line, problems)
            if source is not None:
                if source.url in seen:
                    problems.append(
                        OPMLProblem(
                            "duplicate feed address; first one kept", line, source.url, title
                        )
                    )
                else:
                    seen.add(source.url)
                    sources.append(source)
            # Some readers nest feeds under a feed; its children keep the enclosing categories.
            child_path = path
        elif kind == "include":
            problems.append(
                OPMLProblem(
                    "included OPML documents are not followed",
                    line,
                    _clean(attrs.get("url")),
                    title,
                )
            )
            child_path = path
        else:
            child_path = (*path, title) if title else path
        stack.extend((child, child_path) for child in reversed(children))

    return OPMLImport(tuple(sources), tuple(problems), head_title)


def _parse_xml(data: bytes | str) -> etree._Element:
    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
        size = len(data)
    else:
        raise TypeError(f"OPML data must be bytes or str, not {type(data).__name__}")
    if size > MAX_OPML_BYTES:
        raise OPMLError(
            f"OPML document is too large ({size:,} bytes; the limit is {MAX_OPML_BYTES:,})"
        )
    if isinstance(data, str):
        # lxml refuses text that still declares an encoding; the text is already decoded.
        data = _XML_DECLARATION.sub("", data.lstrip("\ufeff"), count=1)
    if not data.strip():
        raise OPMLError("OPML document is empty")

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        dtd_validation=False, remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OPMLError(_syntax_message(exc)) from None
    except ValueError as exc:  # e.g. text that lxml will not take at all
        raise OPMLError(f"OPML document could not be read: {exc}") from None
    if root is None:
        raise OPMLError("OPML document has no root element")

    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise OPMLError("OPML document declares XML entities (<!ENTITY>), which are not allowed")
    return root


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    msg = (exc.msg or str(exc)).strip()
    # lxml appends ", line N, column M" to its message; we say where ourselves.
    msg = re.sub(r",\s*line \d+, column \d+\s*$", "", msg)
    if msg.startswith("Excessive depth"):  # libxml2's nesting limit (256 without huge_tree)
        msg = "elements are nested too deeply"
    line = exc.lineno if exc.lineno and exc.lineno > 0 else None
    column = exc.offset if exc.offset and exc.offset > 0 else None
    if line is None:
        return f"not well-formed XML: {msg}"
    where = f"line {line}" + (f", column {column}" if column is not None else "")
    return f"not well-formed XML at {where}: {msg}"


def _wrong_root_message(root: etree._Element) -> str:
    name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
    hint = ""
    if name.lower() in {"rss", "feed", "rdf"}:
        hint = " (this looks like a feed itself; add its address as a source instead)"
    elif name.lower() == "html":
        hint = " (this looks like a web page)"
    return f"not an OPML document: the root element is <{name}>, expected <opml>{hint}"


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    for el in parent:
        if isinstance(el.tag, str) and etree.QName(el).localname.lower() == name:
            return el
    return None


def _outlines(parent: etree._Element) -> list[etree._Element]:
    return [
        el
        for el in parent
        if isinstance(el.tag, str) and etree.QName(el).localname.lower() == "outline"
    ]


def _attributes(el: etree._Element) -> dict[str, str]:
    """Attributes by lower-cased local name; when two differ only in case, the first wins."""
    attrs: dict[str, str] = {}
    for key, value in el.attrib.items():
        attrs.setdefault(etree.QName(key).localname.lower(), value)
    return attrs


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


MAX_CATEGORY_LEVEL = 100  # characters in one level of a category path


def _source(
    raw_url: str,
    title: str | None,
    path: tuple[str, ...],
    attrs: dict[str, str],
    line: int | None,
    problems: list[OPMLProblem],
) -> OPMLSource | None:
    url, why = _web_url(raw_url)
    if url is None:
        problems.append(OPMLProblem(f"feed address skipped: {why}", line, raw_url.strip(), title))
        return None

    html_url = None
    raw_html = _clean(attrs.get("htmlurl"))
    if raw_html is not None:
        html_url, why = _web_url(raw_html)
        if html_url is None:
            problems.append(OPMLProblem(f"site address dropped: {why}", line, url, title))
        else:  # stored as every feed's home-page link is: no credentials, bounded
            html_url = source_link(html_url, url)

    category = path
    if not category:
        category = _category_attribute(attrs.get("category"))
    return OPMLSource(
        url=url,
        title=_title(title),
        category=_bounded(category),
        html_url=html_url,
        line=line,
    )


def _title(title: str | None) -> str | None:
    """An outline's title as given, cut to the cap of a source's title."""
    return cut_plain(title, MAX_SOURCE_TITLE_CHARS) if title else title


def _bounded(path: tuple[str, ...]) -> tuple[str, ...]:
    """A category path stored within the caps: each level cut at :data:`MAX_CATEGORY_LEVEL`
    characters, deeper levels dropped once the joined path would pass
    :data:`MAX_SOURCE_TITLE_CHARS` (the same cap as a title)."""
    kept: list[str] = []
    for part in path:
        level = cut_plain(part, MAX_CATEGORY_LEVEL)
        if len("/".join([*kept, level])) > MAX_SOURCE_TITLE_CHARS:
            break
        kept.append(level)
    return tuple(kept)


def _web_url(raw: str) -> tuple[str | None, str]:
    """The address if it is an absolute http(s) URL, else ``None`` and the reason."""
    url = raw.strip()
    lowered = url.lower()
    # The old feed: pseudo-scheme, as "feed://host/path" or "feed:https://host/path".
    if lowered.startswith("feed://"):
        url = "http://" + url[len("feed://") :]
    elif lowered.startswith(("feed:http://", "feed:https://")):
        url = url[len("feed:") :]
    if len(url) > MAX_URL_LENGTH:
        return None, f"longer than {MAX_URL_LENGTH} characters"
    if any(ch.isspace() for ch in url):
        return None, "contains whitespace"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None, "not a valid URL"
    if not parts.scheme:
        return None, "not an absolute URL (no scheme)"
    if parts.scheme.lower() not in {"http", "https"}:
        return None, f"only http and https addresses are accepted, not {parts.scheme!r}"
    if not host:
        return None, "no host name"
    return url, ""


def _category_attribute(value: str | None) -> tuple[str, ...]:
    """The first entry of an OPML 2.0 ``category`` attribute as a path ("/A/B" → ("A", "B"))."""
    if not value:
        return ()
    for entry in value.split(","):
        path = tuple(part.strip() for part in entry.split("/") if part.strip())
        if path:
            return path
    return ()


# --------------------------------------------------------------------------------------------
# Writing

# Characters XML 1.0 can carry; anything else (most C0 controls, lone surrogates, U+FFFE/FFFF)
# is dropped on export rather than failing the whole document.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def export_opml(sources: Iterable[OPMLSource], *, title: str = "curation sources") -> str:
    """Return an OPML 2.0 document (as text, declared UTF-8) listing ``sources``.

    Categories become nested outlines carrying ``text`` and ``title``; each source is an
    ``<outline type="rss">`` with ``text``, ``title``, ``xmlUrl`` and, when known, ``htmlUrl``.
    Categories and sources appear in the order they are first met in ``sources``, and a URL
    given more than once is written once (first occurrence), as :func:`parse_opml` would keep it.
    The output depends only on the arguments, so exporting the same sources twice gives the same
    text.
    """
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_text(title)
    body = etree.SubElement(root, "body")

    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    seen: set[str] = set()
    for source in sources:
        if source.url in seen:
            continue
        seen.add(source.url)
        parent = _folder(folders, source.category)
        attrs = {"type": "rss", "text": _xml_text(source.title or "")}
        if source.title:
            attrs["title"] = attrs["text"]
        attrs["xmlUrl"] = _xml_text(source.url)
        if source.html_url:
            attrs["htmlUrl"] = _xml_text(source.html_url)
        etree.SubElement(parent, "outline", attrs)

    text = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


def _folder(
    folders: dict[tuple[str, ...], etree._Element], category: tuple[str, ...]
) -> etree._Element:
    path: tuple[str, ...] = ()
    parent = folders[()]
    for name in category:
        path = (*path, name)
        folder = folders.get(path)
        if folder is None:
            name_text = _xml_text(name)
            folder = etree.SubElement(parent, "outline", text=name_text, title=name_text)
            folders[path] = folder
        parent = folder
    return parent


def _xml_text(value: str) -> str:
    return _NOT_XML_CHAR.sub("", value)
