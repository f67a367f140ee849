"""``GET /``: the front door, a small page that says what the service is and where to go."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from curation import __version__

router = APIRouter(tags=["ops"])

_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>curation</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.5">
<h1>curation</h1>
<p>Short, personal, explained daily digests from the feeds people follow at work.</p>
<ul>
<li><a href="/docs">API documentation</a> (Swagger UI) and <a href="/redoc">ReDoc</a></li>
<li><a href="/openapi.json">OpenAPI description</a></li>
<li><a href="/healthz">Health</a> and <a href="/metrics">metrics</a></li>
</ul>
<p>Every <code>/v1</code> call takes <code>Authorization: Bearer &lt;API key&gt;</code>;
create the first one with <code>curation people add --role admin …</code>.</p>
<p><small>version {__version__}</small></p>
</body></html>
"""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home() -> HTMLResponse:
    return HTMLResponse(_PAGE)
