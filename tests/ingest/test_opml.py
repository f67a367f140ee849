"""OPML import/export (curation.ingest.opml) and the shipped default list (feeds.opml)."""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from app.problems import status_of
from curation.errors import InvalidInput, OPMLError
from curation.ingest import opml
from curation.ingest.opml import OPMLSource, export_opml, parse_opml, read_opml
from tests.helpers.paths import ROOT

DEFAULT_OPML = ROOT / "feeds.opml"


def doc(body: str, *, head: str = "<head><title>t</title></head>", version: str = "2.0") -> str:
    return f'<opml version="{version}">{head}<body>{body}</body></opml>'


# ---------------------------------------------------------------------------------------------
# The default list shipped at the repository root


@pytest.fixture(scope="module")
def default_sources() -> list[OPMLSource]:
    return parse_opml(DEFAULT_OPML.read_bytes())


_HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def test_default_list_parses_cleanly() -> None:
    result = read_opml(DEFAULT_OPML.read_bytes())
    assert result.problems == ()
    assert result.title


def test_default_list_has_enough_sources(default_sources: list[OPMLSource]) -> None:
    assert len(default_sources) >= 30


def test_default_list_urls_are_web_urls_with_plausible_hosts(
    default_sources: list[OPMLSource],
) -> None:
    for source in default_sources:
        for url in (source.url, source.html_url):
            assert url is not None, source
            parts = urlsplit(url)
            assert parts.scheme == "https", url
            assert parts.hostname and _HOST.match(parts.hostname), url
            assert parts.port is None and not parts.username, url
            assert not any(ch.isspace() for ch in url), url


def test_default_list_has_no_duplicates(default_sources: list[OPMLSource]) -> None:
    # parse_opml drops repeats, so count the raw xmlUrl attributes in the file itself.
    tree = etree.parse(str(DEFAULT_OPML))
    raw = [el.get("xmlUrl") for el in tree.iter("outline") if el.get("xmlUrl")]
    assert len(raw) == len(set(raw)) == len(default_sources)
    # The same feed under a trivially different spelling would be a duplicate too.
    normalised = [s.url.lower().rstrip("/").replace("://www.", "://") for s in default_sources]
    assert len(normalised) == len(set(normalised))
    titles = [s.title for s in default_sources]
    assert len(titles) == len(set(titles))


def test_default_list_categories(default_sources: list[OPMLSource]) -> None:
    by_top = Counter(s.category[0] for s in default_sources if s.category)
    assert all(s.category for s in default_sources), "every default source sits in a category"
    assert len(by_top) >= 3
    assert all(count >= 5 for count in by_top.values()), by_top
    assert "Workplace learning & L&D" in by_top


def test_default_list_every_source_has_a_title(default_sources: list[OPMLSource]) -> None:
    for source in default_sources:
        assert source.title and source.title.strip() == source.title, source


def test_default_list_outlines_carry_text_and_title() -> None:
    tree = etree.parse(str(DEFAULT_OPML))
    feeds = [el for el in tree.iter("outline") if el.get("xmlUrl")]
    assert feeds
    for el in feeds:
        assert el.get("type") == "rss"
        assert el.get("text") and el.get("text") == el.get("title")
        assert el.get("htmlUrl")


def test_default_list_starts_with_an_explanatory_comment() -> None:
    tree = etree.parse(str(DEFAULT_OPML))
    comments = [node for node in tree.getroot().itersiblings(preceding=True)]
    assert comments and isinstance(comments[-1], etree._Comment)
    assert "default" in comments[-1].text and "replace" in comments[-1].text


# ---------------------------------------------------------------------------------------------
# Parsing


def test_nested_categories_titles_and_html_url() -> None:
    data = doc(
        '<outline text="Top feed" xmlUrl="https://top.example/feed"/>'
        '<outline text="Technology">'
        '  <outline text="Python">'
        '    <outline text="Async">'
        '      <outline text="Deep" title="Deep title" xmlUrl="https://deep.example/rss"'
        '               htmlUrl="https://deep.example/"/>'
        "    </outline>"
        '    <outline text="Py" xmlUrl="https://py.example/atom"/>'
        "  </outline>"
        "</outline>"
    )
    assert parse_opml(data) == [
        OPMLSource("https://top.example/feed", "Top feed", (), None),
        OPMLSource(
            "https://deep.example/rss",
            "Deep title",
            ("Technology", "Python", "Async"),
            "https://deep.example/",
        ),
        OPMLSource("https://py.example/atom", "Py", ("Technology", "Python"), None),
    ]


def test_opml_1_0_with_lowercase_attribute_names() -> None:
    data = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="1.0">
  <head><title>mySubscriptions</title></head>
  <body>
    <outline title="News">
      <outline text="Caf\xe9 news" type="rss" xmlurl="http://cafe.example/rss.xml"
               htmlurl="http://cafe.example/"/>
    </outline>
    <outline TEXT="Loud" XMLURL="https://loud.example/feed" HtmlUrl="https://loud.example/"/>
  </body>
</opml>"""
    result = read_opml(data)
    assert result.title == "mySubscriptions"
    assert list(result.sources) == [
        OPMLSource(
            "http://cafe.example/rss.xml", "Caf\u00e9 news", ("News",), "http://cafe.example/"
        ),
        OPMLSource("https://loud.example/feed", "Loud", (), "https://loud.example/"),
    ]


def test_feed_address_in_url_attribute_when_type_is_a_feed() -> None:
    data = doc(
        '<outline type="rss" text="A" url="https://a.example/rss"/>'
        '<outline type="atom" text="B" url="https://b.example/atom"/>'
        '<outline type="link" text="Just a page" url="https://c.example/"/>'
        '<outline text="No type" url="https://d.example/"/>'
    )
    assert [s.url for s in parse_opml(data)] == ["https://a.example/rss", "https://b.example/atom"]


def test_opml2_category_attribute() -> None:
    data = doc(
        '<outline text="A" xmlUrl="https://a.example/" category="/Tech/Python"/>'
        '<outline text="B" xmlUrl="https://b.example/" category="/Boston/Weather,/Harvard/Econ"/>'
        '<outline text="C" xmlUrl="https://c.example/" category="python, web"/>'
        '<outline text="D" xmlUrl="https://d.example/" category=" , /Science/ "/>'
        '<outline text="Folder">'
        '  <outline text="E" xmlUrl="https://e.example/" category="/Ignored/Here"/>'
        "</outline>"
        "<outline>"  # an unnamed folder does not count as a parent category
        '  <outline text="F" xmlUrl="https://f.example/" category="/Kept"/>'
        "</outline>"
    )
    assert {s.title: s.category for s in parse_opml(data)} == {
        "A": ("Tech", "Python"),
        "B": ("Boston", "Weather"),
        "C": ("python",),
        "D": ("Science",),
        "E": ("Folder",),
        "F": ("Kept",),
    }


def test_title_falls_back_to_text_and_is_stripped() -> None:
    data = doc(
        '<outline text="  From text  " xmlUrl="https://a.example/"/>'
        '<outline text="text" title="  From title " xmlUrl="https://b.example/"/>'
        '<outline text="" title="   " xmlUrl="https://c.example/"/>'
        '<outline xmlUrl="https://d.example/"/>'
        '<outline text="  " title="  "><outline text="x" xmlUrl="https://e.example/"/></outline>'
    )
    assert [(s.title, s.category) for s in parse_opml(data)] == [
        ("From text", ()),
        ("From title", ()),
        (None, ()),
        (None, ()),
        ("x", ()),
    ]


def test_duplicate_urls_keep_the_first_and_are_reported() -> None:
    data = doc(
        '<outline text="First" xmlUrl="https://dup.example/feed"/>'
        '<outline text="Cat"><outline text="Second" xmlUrl=" https://dup.example/feed "/></outline>'
        '<outline text="Other" xmlUrl="https://other.example/feed"/>'
    )
    result = read_opml(data)
    assert [(s.title, s.category) for s in result.sources] == [("First", ()), ("Other", ())]
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert "duplicate" in problem.reason
    assert problem.url == "https://dup.example/feed"
    assert problem.title == "Second"
    assert problem.line == 1


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/xml,<rss/>",
        "/relative/feed.xml",
        "feeds.example.com/rss",
        "https:///no-host",
        "http://exa mple.com/feed",
        "https://example.com/" + "a" * opml.MAX_URL_LENGTH,
        "http://[::1/feed",
    ],
)
def test_non_web_urls_are_skipped_and_reported(url: str) -> None:
    escaped = url.replace("&", "&amp;").replace("<", "&lt;")
    data = doc(
        f'<outline text="Bad" xmlUrl="{escaped}"/><outline text="Ok" xmlUrl="https://ok.example/"/>'
    )
    result = read_opml(data)
    assert [s.url for s in result.sources] == ["https://ok.example/"]
    assert len(result.problems) == 1
    assert result.problems[0].url == url.strip()
    assert result.problems[0].title == "Bad"
    assert result.problems[0].reason.startswith("feed address skipped")


def test_scheme_case_and_feed_pseudo_scheme_are_accepted() -> None:
    data = doc(
        '<outline text="A" xmlUrl="HTTPS://Upper.Example/Feed"/>'
        '<outline text="B" xmlUrl="feed://old.example/rss"/>'
        '<outline text="C" xmlUrl="feed:https://older.example/rss"/>'
    )
    assert [s.url for s in parse_opml(data)] == [
        "HTTPS://Upper.Example/Feed",
        "http://old.example/rss",
        "https://older.example/rss",
    ]


def test_unsafe_html_url_is_dropped_but_source_kept() -> None:
    data = doc('<outline text="A" xmlUrl="https://a.example/rss" htmlUrl="javascript:alert(1)"/>')
    result = read_opml(data)
    assert result.sources == (OPMLSource("https://a.example/rss", "A", (), None),)
    assert [p.reason.split(":")[0] for p in result.problems] == ["site address dropped"]


def test_site_address_credentials_are_never_stored() -> None:
    """A home-page link comes in by OPML as by the feed itself: without its credentials."""
    data = doc(
        '<outline text="A" xmlUrl="https://a.example/rss" htmlUrl="https://u:secret@a.example/"/>'
    )
    (source,) = read_opml(data).sources
    assert source.html_url == "https://a.example/"
    assert "secret" not in repr(source)


def test_include_outlines_are_reported_not_followed() -> None:
    data = doc(
        '<outline type="include" text="Blogroll" url="https://x.example/list.opml"/>'
        '<outline text="A" xmlUrl="https://a.example/"/>'
    )
    result = read_opml(data)
    assert [s.url for s in result.sources] == ["https://a.example/"]
    assert [(p.url, "not followed" in p.reason) for p in result.problems] == [
        ("https://x.example/list.opml", True)
    ]


def test_children_of_a_feed_outline_keep_the_enclosing_category() -> None:
    data = doc(
        '<outline text="Cat"><outline text="Parent" xmlUrl="https://p.example/">'
        '<outline text="Child" xmlUrl="https://c.example/"/></outline></outline>'
    )
    assert [(s.title, s.category) for s in parse_opml(data)] == [
        ("Parent", ("Cat",)),
        ("Child", ("Cat",)),
    ]


def test_empty_body_and_empty_folders_give_no_sources() -> None:
    assert parse_opml(doc("")) == []
    assert parse_opml(doc('<outline text="Empty folder"/>')) == []
    assert parse_opml("<opml><body/></opml>") == []


def test_str_input_with_encoding_declaration_and_bom() -> None:
    text = '\ufeff<?xml version="1.0" encoding="windows-1252"?>\n' + doc(
        '<outline text="\u00e9t\u00e9 \u2013 \U0001f600" xmlUrl="https://e.example/"/>'
    )
    assert parse_opml(text) == [
        OPMLSource("https://e.example/", "\u00e9t\u00e9 \u2013 \U0001f600", ())
    ]
    # The same document as UTF-8 bytes (lxml honours the declared encoding, so re-declare it).
    as_bytes = text.lstrip("\ufeff").replace("windows-1252", "UTF-8").encode("utf-8")
    assert parse_opml(as_bytes) == parse_opml(text)


def test_bytes_in_utf16_are_read() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?>' + doc(
        '<outline text="Wide" xmlUrl="https://w.example/"/>'
    )
    assert parse_opml(data.encode("utf-16")) == [OPMLSource("https://w.example/", "Wide", ())]


def test_comments_processing_instructions_and_foreign_elements_are_ignored() -> None:
    data = doc(
        "<!-- a comment --><?app hint?><note>hello</note>"
        '<outline text="A" xmlUrl="https://a.example/"><extra/></outline>'
    )
    assert parse_opml(data) == [OPMLSource("https://a.example/", "A", ())]


def test_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_opml(123)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Malformed and hostile input


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        ("   \n  ", "empty"),
        (b"this is not xml", "not well-formed XML"),
        ("<opml><body>\n<outline text='a'>\n</body></opml>", "line 3"),
        (b'<?xml version="1.0" encoding="bogus"?><opml/>', "not well-formed XML"),
        ("<rss version='2.0'><channel/></rss>", "looks like a feed"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'/>", "<feed>"),
        ("<html><body><p>hi</p></body></html>", "web page"),
        ("<opml version='2.0'><head/></opml>", "no <body>"),
    ],
)
def test_malformed_documents_raise_opml_error(data: bytes | str, fragment: str) -> None:
    with pytest.raises(OPMLError) as info:
        parse_opml(data)
    assert fragment in info.value.detail
    assert str(info.value) == info.value.detail
    assert isinstance(info.value, InvalidInput)
    assert status_of(info.value)[0] == 422  # the HTTP edge answers it as 422


def test_syntax_error_message_names_line_and_column_once() -> None:
    with pytest.raises(OPMLError) as info:
        parse_opml('<opml>\n<body>\n  <outline text="a" text="b"/>\n</body></opml>')
    detail = info.value.detail
    assert detail.startswith("not well-formed XML at line 3, column ")
    assert detail.count("line") == 1


def test_document_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opml, "MAX_OPML_BYTES", 1000)
    small = doc('<outline text="A" xmlUrl="https://a.example/"/>')
    assert len(parse_opml(small)) == 1
    padding = "<!--" + "x" * 1000 + "-->"
    for big in (small + padding, (small + padding).encode()):
        with pytest.raises(OPMLError, match="too large"):
            parse_opml(big)


def test_default_size_cap_is_enforced_before_parsing() -> None:
    big = b"<opml><body>" + b" " * opml.MAX_OPML_BYTES + b"</body></opml>"
    started = time.perf_counter()
    with pytest.raises(OPMLError, match="too large"):
        parse_opml(big)
    assert time.perf_counter() - started < 1.0


def test_outline_count_cap() -> None:
    at_cap = "".join(
        f'<outline text="{i}" xmlUrl="https://x.example/{i}"/>' for i in range(opml.MAX_OUTLINES)
    )
    assert len(parse_opml(doc(at_cap))) == opml.MAX_OUTLINES
    over = at_cap + '<outline text="one too many"/>'
    with pytest.raises(OPMLError, match="more than 10,000 outlines"):
        parse_opml(doc(over))


def test_absurd_nesting_is_refused() -> None:
    depth = 300
    nested = '<outline text="c">' * depth + '<outline text="a" xmlUrl="https://a.example/"/>'
    with pytest.raises(OPMLError, match="not well-formed XML at line 1, .*nested too deeply"):
        parse_opml(doc(nested + "</outline>" * depth))
    # A generous but sane depth is fine.
    nested = '<outline text="c">' * 50 + '<outline text="a" xmlUrl="https://a.example/"/>'
    assert parse_opml(doc(nested + "</outline>" * 50))[0].category == ("c",) * 50


def _billion_laughs(levels: int, use: str) -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels + 1):
        entities.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    dtd = "<!DOCTYPE opml [\n" + "\n".join(entities) + "\n]>"
    return (dtd + doc(use.replace("LOL", f"&lol{levels};"))).encode()


@pytest.mark.parametrize(
    "use",
    [
        '<outline text="LOL" xmlUrl="https://a.example/"/>',
        '<outline text="a" xmlUrl="https://a.example/LOL"/>',
        '<outline text="a" xmlUrl="https://a.example/">LOL</outline>',
    ],
)
@pytest.mark.parametrize("levels", [2, 9])
def test_entity_expansion_is_refused(levels: int, use: str) -> None:
    data = _billion_laughs(levels, use)
    started = time.perf_counter()
    with pytest.raises(OPMLError) as info:
        parse_opml(data)
    assert time.perf_counter() - started < 2.0
    assert "lollol" not in info.value.detail
    assert len(info.value.detail) < 500


@pytest.mark.parametrize(
    "use",
    [
        '<outline text="&xxe;" xmlUrl="https://a.example/"/>',
        '<outline text="a" xmlUrl="https://a.example/">&xxe;</outline>',
        '<outline text="Cat">&xxe;<outline text="a" xmlUrl="https://a.example/"/></outline>',
    ],
)
@pytest.mark.parametrize(
    "system", ["file:///etc/passwd", "http://127.0.0.1:9/secret", "/etc/hostname"]
)
def test_external_entities_are_refused(system: str, use: str) -> None:
    data = (f'<!DOCTYPE opml [<!ENTITY xxe SYSTEM "{system}">]>' + doc(use)).encode()
    started = time.perf_counter()
    with pytest.raises(OPMLError) as info:
        parse_opml(data)
    assert time.perf_counter() - started < 2.0
    assert "root:" not in info.value.detail


def test_external_dtd_is_not_loaded_and_plain_doctype_is_fine() -> None:
    # A DOCTYPE without entity declarations is harmless: no DTD is fetched, the outline is read.
    data = '<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/opml.dtd">' + doc(
        '<outline text="A" xmlUrl="https://a.example/"/>'
    )
    started = time.perf_counter()
    assert parse_opml(data) == [OPMLSource("https://a.example/", "A", ())]
    assert time.perf_counter() - started < 2.0


def test_external_entity_file_is_never_read(tmp_path: Path) -> None:
    # Were the entity resolved, this file's content would break the document and the error
    # would come from parsing it; refusing the declaration is the only acceptable outcome.
    target = tmp_path / "secret.txt"
    target.write_text("<unclosed SECRET-MARKER")
    data = (
        f'<!DOCTYPE opml [<!ENTITY xxe SYSTEM "{target.as_uri()}">]>'
        + doc('<outline text="a" xmlUrl="https://a.example/">&xxe;</outline>')
    ).encode()
    with pytest.raises(OPMLError) as info:
        parse_opml(data)
    assert info.value.detail == (
        "OPML document declares XML entities (<!ENTITY>), which are not allowed"
    )


def test_external_dtd_file_is_never_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "opml.dtd"
    dtd.write_text('<!ENTITY injected "FROM-THE-DTD">')
    data = f'<!DOCTYPE opml SYSTEM "{dtd.as_uri()}">' + doc(
        '<outline text="&injected;" xmlUrl="https://a.example/"/>'
    )
    # Without the DTD the reference is undefined and contributes nothing to the title.
    assert parse_opml(data) == [OPMLSource("https://a.example/", None, ())]


def test_parameter_entity_to_external_dtd_is_refused() -> None:
    data = (
        '<!DOCTYPE opml [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]>'
        + doc('<outline text="A" xmlUrl="https://a.example/"/>')
    ).encode()
    with pytest.raises(OPMLError):
        parse_opml(data)


# ---------------------------------------------------------------------------------------------
# Exporting


SAMPLE = [
    OPMLSource("https://top.example/feed", "Top & <first>", (), "https://top.example/"),
    OPMLSource("https://a.example/rss", "Quote \"double\" & 'single'", ("Tech", "Python"), None),
    OPMLSource("https://b.example/rss", None, ("Tech",), "https://b.example/?a=1&b=2"),
    OPMLSource("https://c.example/rss", "C", ("News",), None),
    OPMLSource("https://d.example/rss", "D", ("Tech", "Python"), None),
    OPMLSource("https://e.example/rss", "E", (), None),
]


def test_export_structure() -> None:
    text = export_opml(SAMPLE, title="My & your sources")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = etree.fromstring(text.encode("utf-8"))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "My & your sources"
    body = root.find("body")

    def shape(el: etree._Element) -> list:
        out = []
        for child in el:
            if child.get("xmlUrl"):
                out.append(
                    (child.get("type"), child.get("text"), child.get("title"), child.get("xmlUrl"))
                )
            else:
                assert child.get("text") == child.get("title")
                assert child.get("type") is None
                out.append((child.get("text"), shape(child)))
        return out

    # Categories and sources appear where first met, so the top-level "E" follows "News".
    assert shape(body) == [
        ("rss", "Top & <first>", "Top & <first>", "https://top.example/feed"),
        (
            "Tech",
            [
                (
                    "Python",
                    [
                        ("rss", SAMPLE[1].title, SAMPLE[1].title, "https://a.example/rss"),
                        ("rss", "D", "D", "https://d.example/rss"),
                    ],
                ),
                ("rss", "", None, "https://b.example/rss"),
            ],
        ),
        ("News", [("rss", "C", "C", "https://c.example/rss")]),
        ("rss", "E", "E", "https://e.example/rss"),
    ]
    html = {el.get("xmlUrl"): el.get("htmlUrl") for el in body.iter("outline")}
    assert html["https://b.example/rss"] == "https://b.example/?a=1&b=2"
    assert html["https://a.example/rss"] is None
    assert "htmlUrl=" not in text.split("a.example/rss", 1)[1].split("/>", 1)[0]


def test_export_is_deterministic_and_idempotent() -> None:
    first = export_opml(SAMPLE)
    assert export_opml(list(SAMPLE)) == first
    assert export_opml(parse_opml(first)) == first


def test_export_writes_each_url_once() -> None:
    dupes = [SAMPLE[0], OPMLSource(SAMPLE[0].url, "again", ("Elsewhere",), None), SAMPLE[3]]
    text = export_opml(dupes)
    assert text.count(SAMPLE[0].url + '"') == 1
    assert "Elsewhere" not in text
    assert parse_opml(text) == [SAMPLE[0], SAMPLE[3]]


def test_export_drops_characters_xml_cannot_hold() -> None:
    source = OPMLSource("https://a.example/", "bell\x07 and\x00 nul\ufffe", ("ca\x1bt",), None)
    back = parse_opml(export_opml([source], title="t\x0b"))
    assert back == [OPMLSource("https://a.example/", "bell and nul", ("cat",), None)]


def test_export_of_nothing_is_a_valid_empty_document() -> None:
    text = export_opml([])
    assert read_opml(text).sources == ()
    assert read_opml(text).title == "curation sources"


AWKWARD_TITLES = [
    None,
    "plain",
    "Tom & Jerry",
    "<script>alert('x')</script>",
    "He said \"hi\" & 'bye'",
    "caf\u00e9 \u2013 \u65e5\u672c\u8a9e \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \U0001f4da",
    "line one\nline two",
    "tab\there\r\nand CRLF",
    "]]> and &amp; literally",
    "a/b, c",
    "x" * 500,
]
AWKWARD_CATEGORIES = [
    (),
    ("Technology",),
    ("Technology", "Python"),
    ("Technology", "Python", "Async & <await>"),
    ("L&D", '"Quoted" / slashed, comma'),
    ("\u00dcbersicht", "\U0001f9ea lab"),
]
AWKWARD_URLS = [
    "https://example.com/feed",
    'http://example.com/rss?x=1&y=<2>&z="3"',
    "https://ex.example/caf%C3%A9/feed.xml#frag",
    "https://\u00fcber.example/\u65e5\u672c",
    "HTTPS://EXAMPLE.COM:8443/Feed",
]
AWKWARD_HTML = [None, "https://example.com/", "http://example.com/?a=1&b='2'"]


def _awkward_sources() -> list[OPMLSource]:
    sources = []
    combos = itertools.product(AWKWARD_TITLES, AWKWARD_CATEGORIES, AWKWARD_URLS, AWKWARD_HTML)
    for n, (title, category, url, html) in enumerate(combos):
        sep = "&" if "?" in url.split("#")[0] else "?"
        base, _, frag = url.partition("#")
        unique = f"{base}{sep}n={n}" + (f"#{frag}" if frag else "")
        sources.append(OPMLSource(unique, title, category, html))
    return sources


def assert_same_sources(got: list[OPMLSource], expected: list[OPMLSource]) -> None:
    """Same sources with the same values; within each category, in the same order.

    Export groups a category's sources under one outline, so sources of different categories
    may come back in a different overall order.
    """
    assert sorted(got, key=lambda s: s.url) == sorted(expected, key=lambda s: s.url)

    def per_category(sources: list[OPMLSource]) -> dict[tuple[str, ...], list[str]]:
        groups: dict[tuple[str, ...], list[str]] = {}
        for s in sources:
            groups.setdefault(s.category, []).append(s.url)
        return groups

    assert per_category(got) == per_category(expected)


def test_round_trip_is_lossless_over_awkward_values() -> None:
    sources = _awkward_sources()
    assert len(sources) == len(set(s.url for s in sources)) == 990
    assert_same_sources(parse_opml(export_opml(sources, title='Awkward & <odd> "title"')), sources)


@pytest.mark.parametrize("category", AWKWARD_CATEGORIES)
@pytest.mark.parametrize("title", AWKWARD_TITLES)
def test_round_trip_single_source(title: str | None, category: tuple[str, ...]) -> None:
    source = OPMLSource("https://one.example/feed?a=1&b=2", title, category, "https://one.example/")
    exported = export_opml([source])
    assert parse_opml(exported) == [source]
    assert parse_opml(exported.encode("utf-8")) == [source]


def test_round_trip_of_sources_in_many_orders() -> None:
    for perm in itertools.permutations(SAMPLE):
        assert_same_sources(parse_opml(export_opml(perm)), list(perm))


def test_round_trip_keeps_order_when_categories_are_contiguous() -> None:
    ordered = [SAMPLE[0], SAMPLE[5], SAMPLE[1], SAMPLE[4], SAMPLE[2], SAMPLE[3]]
    assert parse_opml(export_opml(ordered)) == ordered


def test_round_trip_of_default_list(default_sources: list[OPMLSource]) -> None:
    assert parse_opml(export_opml(default_sources)) == default_sources


def test_outline_titles_and_categories_are_stored_within_the_caps() -> None:
    """A 10,000-character title or category path from a file is cut, never stored whole."""
    long_title = "T" * 10_000
    deep = "".join(f'<outline text="{"c" * 150}{n}">' for n in range(8))
    data = doc(
        deep + f'<outline text="{long_title}" xmlUrl="https://a.example/rss"/>' + "</outline>" * 8
    )
    (source,) = read_opml(data).sources
    assert source.title is not None and len(source.title) == 500 and source.title.endswith("…")
    assert 0 < len(source.category) < 8  # deeper levels dropped once the path is full
    assert all(len(level) <= 100 for level in source.category)
    assert len("/".join(source.category)) <= 500
