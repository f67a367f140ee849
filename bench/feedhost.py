"""A fast feed host for benchmarks, run in its own process: N RSS feeds × M entries.

Entries carry real text by default (``--text real``: the collections of ../shared/data/ranking/,
20 Newsgroups, BBC and AG News mixed, ~1.3 KB per entry, each document used once until the
pool runs out) or the old 35-word vocabulary (``--text vocab``), which flatters full-text
indexing. ``--newest`` sets the pubDate of each feed's first entry (the others are an hour
apart, older).

GET /feed/{i}.xml answers 200 with an ETag and Last-Modified, or 304 on a matching validator.
GET /stats returns JSON counts of 200s, 304s and body bytes sent; POST /reset clears them.
Usage: python bench/feedhost.py --feeds 500 --entries 50 [--port 0]  (prints "ready PORT").
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, bench/ is first on the path, where bench/email.py would shadow the stdlib
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import hashlib
import json
import random
import resource
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

WORDS = [
    "learning",
    "team",
    "manager",
    "skills",
    "data",
    "python",
    "feedback",
    "coaching",
    "onboarding",
    "research",
    "model",
    "design",
    "product",
    "strategy",
    "remote",
    "culture",
    "hiring",
    "security",
    "cloud",
    "testing",
    "analytics",
    "leadership",
    "review",
    "course",
    "mentor",
    "career",
    "growth",
    "metrics",
    "agile",
    "planning",
    "writing",
    "tools",
    "automation",
    "language",
    "open",
]


def real_docs(seed: int = 7) -> list[tuple[str, str]]:
    """(title, body) of every document of the ranking collections, in a fixed shuffled order."""
    from bench.quality import COLLECTIONS, load

    docs = [(d.title, d.body) for name in COLLECTIONS for d in load(name) if d.body.strip()]
    random.Random(seed).shuffle(docs)
    return docs


def _paragraphs(body: str) -> str:
    parts = [p.strip() for p in body.split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(' '.join(p.split()))}</p>" for p in parts)


def make_feed(
    i: int,
    entries: int,
    base: str,
    docs: list[tuple[str, str]] | None = None,
    newest: datetime = datetime(2026, 11, 1, tzinfo=UTC),
) -> bytes:
    rnd = random.Random(i)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>Bench feed {i}</title><link>https://site{i}.example.com/</link>",
        "<description>synthetic</description>",
    ]
    for j in range(entries):
        if docs:
            title, body = docs[(i * entries + j) % len(docs)]
            title = " ".join(title.split())[:200] or f"Post {j}"
            html = _paragraphs(body) + f"<p><a href='https://site{i}.example.com/x'>more</a></p>"
        else:
            words = " ".join(rnd.choice(WORDS) for _ in range(150))
            title = " ".join(rnd.choice(WORDS) for _ in range(8)).capitalize()
            html = (
                f"<p>{words[:500]}</p><p><a href='https://site{i}.example.com/x'>more</a>"
                f" {words[500:]}</p>"
            )
        when = format_datetime(newest - timedelta(hours=j), usegmt=True)
        parts.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://site{i}.example.com/posts/{j}?utm_source=rss</link>"
            f"<guid isPermaLink='false'>site{i}-post-{j}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--text", choices=("real", "vocab"), default="real")
    ap.add_argument("--newest", default="2026-11-01T00:00:00+00:00", help="ISO time, with zone")
    args = ap.parse_args()
    docs = real_docs() if args.text == "real" else None
    newest = datetime.fromisoformat(args.newest)
    feeds = {
        f"/feed/{i}.xml": make_feed(i, args.entries, "", docs, newest) for i in range(args.feeds)
    }
    etags = {k: '"' + hashlib.sha1(v).hexdigest()[:16] + '"' for k, v in feeds.items()}
    modified = "Sun, 01 Nov 2026 00:00:00 GMT"
    stats = {"200": 0, "304": 0, "bytes": 0}

    async def feed(request: web.Request) -> web.Response:
        body = feeds.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        etag = etags[request.path]
        headers = {"ETag": etag, "Last-Modified": modified}
        if request.headers.get("If-None-Match") == etag or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == modified
        ):
            stats["304"] += 1
            return web.Response(status=304, headers=headers)
        stats["200"] += 1
        stats["bytes"] += len(body)
        return web.Response(body=body, headers=headers, content_type="application/rss+xml")

    async def get_stats(_: web.Request) -> web.Response:
        # this server's CPU since it started: it shares the machine with the peers it serves
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.json_response({**stats, "cpu_s": usage.ru_utime + usage.ru_stime})

    async def reset(_: web.Request) -> web.Response:
        stats.update({"200": 0, "304": 0, "bytes": 0})
        return await get_stats(_)

    app = web.Application()
    app.router.add_get("/stats", get_stats)
    app.router.add_post("/reset", reset)
    app.router.add_get("/feed/{name}", feed)

    async def on_startup(app: web.Application) -> None:
        return None

    runner = web.AppRunner(app, access_log=None)
    import asyncio

    async def serve() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"ready {port}", flush=True)
        print(json.dumps({"feeds": len(feeds)}), file=sys.stderr, flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
