"""The pages' template environment (app.web.render) writes exactly what Jinja's own would:
its code generator only calls a cheaper escape and hands each run of output on as one piece."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError, select_autoescape
from markupsafe import Markup, escape

from app.web import render


@dataclass
class Row:
    id: int
    title: str | None
    note: str
    tags: tuple[str, ...] = ()


class Html:
    def __html__(self) -> str:
        return "<b>said to be safe</b>"


class Shouty:
    def __str__(self) -> str:
        return "<LOUD & 'quoted' \"too\">"


TEMPLATES = {
    "base.html": (
        "<title>{% block title %}t{% endblock %}</title>{{ top }}\n"
        "<main>{% block main %}{% endblock %}</main>{{ version }}"
    ),
    "page.html": """{% extends "base.html" %}
{% from "macros.html" import cell %}
{% block title %}{{ heading }} & more{% endblock %}
{% block main %}
<h1 class="{{ cls }}">{{ heading }}</h1>{{ safe }}{{ html_obj }}{{ shouty }}{{ number }}{{ none }}
{% set caught %}<i>{{ heading }}</i>{{ number }}{% endset %}[{{ caught }}]
{% for r in rows %}
<tr id="r{{ r.id }}" class="{{ loop.cycle('odd', 'even') }}"><td>{{ r.title or "(untitled)" }}</td>
  <td>{{ r.note | truncate(12) }}{% if r.tags %} <small>{{ r.tags | join(", ") }}</small>{% endif %}</td>
  {{ cell(r.note) }}{% call cell("called") %}in {{ r.id }} & {{ caller_text }}{% endcall %}</tr>
{% else %}<tr><td>none</td></tr>
{% endfor %}
{% filter upper %}{{ heading }} <{{ number }}>{% endfilter %}
{% autoescape false %}{{ raw }} {{ heading }}{% endautoescape %}
{{ "<const & folded>" }}{{ 3 + 4 }}{{ missing_name }}{{ mapping.key }}{{ mapping["key"] }}
{% include "row.html" %}
{% endblock %}""",
    "macros.html": (
        '{% macro cell(text) %}<td data-x="{{ text }}">{{ text }}'
        "{% if caller %}{{ caller() }}{% endif %}</td>{% endmacro %}"
    ),
    "row.html": "<p>{{ heading }} {{ rows | length }}</p>\n",
}
CONTEXT = {
    "heading": "Tom & Jerry's <script>alert(1)</script>",
    "cls": 'a"b',
    "safe": Markup("<em>kept</em>"),
    "html_obj": Html(),
    "shouty": Shouty(),
    "number": 12,
    "none": None,
    "top": "<top>",
    "version": "1.0",
    "raw": "<raw & left>",
    "caller_text": "<x>",
    "mapping": {"key": "<v>"},
    "rows": [
        Row(1, "First <one>", "a note that is rather long & has <tags>", ("x", "<y>")),
        Row(2, None, "short"),
        Row(3, "", "'quoted' \"note\""),
    ],
}


def environments(**options: object) -> tuple[Environment, Environment]:
    settings = dict(
        loader=DictLoader(TEMPLATES),
        autoescape=select_autoescape(("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )
    return Environment(**settings), render._PageEnvironment(**settings)


def test_the_page_environment_writes_what_jinja_writes() -> None:
    jinja, pages = environments()
    expected = jinja.get_template("page.html").render(**CONTEXT)
    written = pages.get_template("page.html").render(**CONTEXT)
    assert written == expected
    assert "Tom &amp; Jerry&#39;s &lt;script&gt;" in written  # escaped, as Jinja escapes
    assert (
        "<em>kept</em><b>said to be safe</b>&lt;LOUD &amp; &#39;quoted&#39; &#34;too&#34;&gt;12None"
        in written
    )
    assert "<raw & left>" in written  # autoescape off is off
    # and it is compiled differently: one piece a run of output, the cheaper escape
    source = pages.compile(TEMPLATES["page.html"], raw=True)
    assert "environment.output_text(" in source and "yield concat(" in source
    assert "escape(" not in source.replace("output_text(", "")


def test_an_empty_loop_and_no_rows() -> None:
    jinja, pages = environments()
    context = {**CONTEXT, "rows": []}
    assert pages.get_template("page.html").render(**context) == jinja.get_template(
        "page.html"
    ).render(**context)


def test_errors_are_raised_as_jinja_raises_them() -> None:
    jinja, pages = environments(undefined=StrictUndefined)
    for env in (jinja, pages):
        with pytest.raises(UndefinedError):
            env.get_template("page.html").render(**CONTEXT)


@pytest.mark.parametrize(
    "value",
    ["", "plain", "<a href='x'>&\"</a>", 0, 12, 1.5, None, True, Markup("<b>"), Html(), Shouty()],
)
def test_output_text_is_markupsafe_escape_as_a_str(value: object) -> None:
    assert render.output_text(value) == str(escape(value))


def test_every_page_template_compiles_in_both() -> None:
    jinja, pages = environments()
    for env in (jinja, pages):
        env.filters.update(render._env.filters)
    for path in sorted(Path(render.TEMPLATES).glob("*.html")):
        text = path.read_text(encoding="utf-8")
        jinja.compile(text, name=path.name)
        pages.compile(text, name=path.name)


def test_the_pages_use_the_page_environment_when_it_passes_its_check() -> None:
    """With this Jinja, the start-up check passes: pages render with the cheaper generator."""
    assert type(render._env) is render._PageEnvironment


def test_a_page_environment_that_writes_otherwise_is_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Should a Jinja release compile the overridden parts differently, the check sees other
    text than Jinja's own and the pages keep Jinja's own environment."""
    monkeypatch.setattr(
        render._PageEnvironment, "output_text", staticmethod(lambda value: str(value))
    )  # no escaping at all: what a broken override could do
    with caplog.at_level("WARNING", logger="app.web.render"):
        env = render._page_environment(DictLoader(TEMPLATES))
    assert type(env) is Environment
    assert "writes other text than Jinja's own" in caplog.text
    assert "&lt;script&gt;" in env.get_template("row.html").render(heading="<script>", rows=[])


def test_a_page_environment_that_fails_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, node, frame, finalize):  # noqa: ANN001, ANN202
        raise AttributeError("an internal that moved")

    monkeypatch.setattr(render._PageCodeGenerator, "_output_child_pre", broken)
    env = render._page_environment(DictLoader(TEMPLATES))
    assert type(env) is Environment
