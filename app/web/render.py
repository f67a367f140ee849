"""Pages from Jinja2 templates (``app/web/templates``), with the headers every page carries.

Autoescaping is on for every template: any text from a feed, a person or a curator is escaped.
The only HTML written as it is comes through :func:`safe_item_html`, which passes an item's
stored HTML through the project's one sanitiser again (it was sanitised at ingest; a page
never trusts the database alone).

Every page is sent with a Content-Security-Policy that allows scripts and styles from this
origin only (no inline script, no CDN), forms that post only here, and no framing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from app.web import session
from curation import __version__
from curation.ingest.clean.sanitize import sanitize_html

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


# templates are files of this package: compiled once per process, never checked for changes
# (``auto_reload`` would stat the file at every ``get_template``, each page's and each include's)
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html",), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
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
