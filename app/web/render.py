"""Pages from Jinja2 templates (``app/web/templates``), with the headers every page carries.

Autoescaping is on for every template: any text from a feed, a person or a curator is escaped.
The only HTML written as it is comes through :func:`safe_item_html`, which passes an item's
stored HTML through the project's one sanitiser again (it was sanitised at ingest; a page
never trusts the database alone).

Every page is sent with a Content-Security-Policy that allows scripts and styles from this
origin only (no inline script, no CDN), forms that post only here, and no framing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import markupsafe
from jinja2 import BaseLoader, DictLoader, Environment, FileSystemLoader, select_autoescape
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Expr, Output
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from app.web import session
from curation import __version__
from curation.ingest.clean.sanitize import sanitize_html

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def safe_item_html(html: str | None) -> Markup:
    """An item's HTML, through the sanitiser (the only way item HTML reaches a page)."""
    return Markup(sanitize_html(html or ""))  # noqa: S704 - sanitised just now


def href(value: str | None) -> str:
    """A link target for a page: an http(s) URL as it is, anything else ``#`` (an item's
    links were made safe at ingest; this keeps a ``javascript:`` URL out even if one got in)."""
    if value and value.split(":", 1)[0].lower() in ("http", "https"):
        return value
    return "#"


def when(value: datetime | None) -> str:
    """A stored (UTC) time to the minute, ``2026-12-07 05:20 UTC`` (isoformat: a page shows a
    few hundred, and ``strftime`` costs several times as much)."""
    return value.isoformat(" ", "minutes")[:16] + " UTC" if value else "—"


#: markupsafe's own escaping of a string (what :func:`markupsafe.escape` wraps in ``Markup``);
#: its fallback, should a markupsafe release not have it, is ``escape`` itself
_escape_str = getattr(markupsafe, "_escape_inner", None) or (lambda s: str(escape(s)))


def output_text(value: Any) -> str:
    """What a template writes for ``{{ value }}``: the text :func:`markupsafe.escape` makes of
    it, as a plain ``str`` (its ``Markup`` wrapper is dropped: the page is joined into one
    string anyway). ``escape`` costs 0.5 µs a call, this a quarter of it, and a page of 50
    rows writes several hundred values."""
    if type(value) is str:
        return _escape_str(value)
    if hasattr(value, "__html__"):  # Markup, or anything that says it is HTML already
        return value.__html__()
    return _escape_str(str(value))


#: the generated code's list of pieces (a template's own names are compiled to ``l_…``)
_PIECES = "_pieces"


class _PageCodeGenerator(CodeGenerator):
    """Jinja's code generator, with two changes that leave every page's text as it was:

    - an autoescaped ``{{ … }}`` calls :func:`output_text` instead of ``escape`` (see there);
    - a run of text and ``{{ … }}`` between two statements is handed on as one string
      instead of a piece each: a page of 50 rows is some 1,500 pieces, and each piece passes
      through the generator of the block, of the page and of ``base.html``.

    Everything else is compiled as Jinja compiles it."""

    def visit_Output(self, node: Output, frame: Frame) -> None:
        if frame.buffer is not None or frame.require_output_check or len(node.nodes) < 2:
            super().visit_Output(node, frame)
            return
        # Jinja's own form of output into a list (as in a macro), then the list as one piece
        self.writeline(f"{_PIECES} = []")
        frame.buffer = _PIECES
        try:
            super().visit_Output(node, frame)
        finally:
            frame.buffer = None
        self.writeline(f"yield concat({_PIECES})")

    def _output_child_pre(self, node: Expr, frame: Frame, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("environment.output_text(")
        if finalize.src is not None:
            self.write(finalize.src)


class _PageEnvironment(Environment):
    code_generator_class = _PageCodeGenerator
    output_text = staticmethod(output_text)


# What the start-up check renders with both code generators: escaping in text and attributes,
# values that are HTML already, loops, macros with a caller, blocks, captured output, filters.
_PROBE = DictLoader(
    {
        "base": "<t>{% block b %}{% endblock %}</t>{{ v }}",
        "m": '{% macro c(x) %}<td a="{{ x }}">{{ x }}{{ caller() if caller }}</td>{% endmacro %}',
        "page": (
            '{% extends "base" %}{% from "m" import c %}{% block b %}<h1 a="{{ v }}">{{ v }}'
            "{{ h }}{{ n }}{{ none }}</h1>{% set s %}<i>{{ v }}</i>{% endset %}[{{ s }}]"
            "{% for r in rows %}<tr>{{ r }}{{ c(r) }}{% call c(n) %}{{ v }}{% endcall %}</tr>"
            "{% else %}-{% endfor %}{% filter upper %}{{ v }}{% endfilter %}"
            "{% autoescape false %}{{ v }}{% endautoescape %}{{ v | truncate(5) }}{% endblock %}"
        ),
    }
)
_PROBE_VALUES = {
    "v": "Tom & 'Jerry' <b>\"x\"</b>",
    "h": Markup("<em>ok</em>"),
    "n": 12,
    "none": None,
    "rows": ["<a>", Markup("<b>"), 3],
}


def _page_environment(loader: BaseLoader) -> Environment:
    """The pages' environment over ``loader``: :class:`_PageEnvironment`, checked once against
    Jinja's own on a probe template that exercises what pages use; should a Jinja release
    compile it differently (the generator overrides two of Jinja's internals), the pages fall
    back to Jinja's own environment, slower and exactly as safe, and a warning says so.

    Templates are files of this package: compiled once per process, never checked for changes
    (``auto_reload`` would stat the file at every ``get_template``, each page's and each
    include's)."""
    options: dict[str, Any] = {
        "loader": loader,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "auto_reload": False,
    }
    jinja = Environment(autoescape=select_autoescape(("html",), default=True), **options)
    pages = _PageEnvironment(autoescape=select_autoescape(("html",), default=True), **options)
    try:
        probes = [
            env.overlay(loader=_PROBE).get_template("page").render(_PROBE_VALUES)
            for env in (jinja, pages)
        ]
        if probes[0] == probes[1]:
            return pages
        problem = "it writes other text than Jinja's own"
    except Exception as exc:  # noqa: BLE001 - any failure means: do not use it
        problem = f"{type(exc).__name__}: {exc}"
    log.warning("web pages render with Jinja's own code generator (%s)", problem)
    return jinja


_env = _page_environment(FileSystemLoader(TEMPLATES))
_env.filters["when"] = when
_env.filters["href"] = href
_env.filters["item_html"] = safe_item_html
_env.globals["version"] = __version__


def csrf_input(token: str) -> Markup:
    """The hidden field that carries the CSRF token in every form that changes something, made
    once per page (an ``{% include %}`` in a loop of 50 rows makes a template context per row)."""
    return Markup(  # noqa: S704 - the name is ours, the token escaped
        f'<input type="hidden" name="{session.CSRF_FIELD}" value="{escape(token)}">'
    )


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    person = getattr(request.state, "web_person", None)
    token = session.csrf_token(request)
    html = _env.get_template(template).render(
        request=request,
        me=person,
        csrf=token,
        csrf_field=session.CSRF_FIELD,
        csrf_input=csrf_input(token),
        flash=session.take_flash(request),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(url: str) -> RedirectResponse:
    """After a form: see the result with a GET (303), so reloading does not post again."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
