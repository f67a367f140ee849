"""Feed documents for the tests: a small RSS 2.0 builder and the entries it is given, either
numbered (``rss_items``) or on three distinct topics that rank apart (``topic_items``)."""

from __future__ import annotations

from xml.sax.saxutils import escape


def rss(title: str, items: list[dict], link: str = "https://example.org/") -> bytes:
    """A small RSS 2.0 document; each item dict may hold title, link, guid, description, pubDate."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link><description>d</description>",
    ]
    for it in items:
        parts.append("<item>")
        for tag in ("title", "link", "guid", "description", "pubDate"):
            if tag in it:
                parts.append(f"<{tag}>{escape(it[tag])}</{tag}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def rss_items(n: int, prefix: str = "a", host: str = "https://example.org") -> list[dict]:
    """RSS item dicts for :func:`rss`: ``n`` numbered entries under ``prefix``."""
    return [
        {
            "title": f"{prefix} title {i}",
            "link": f"{host}/{prefix}/{i}",
            "guid": f"{prefix}-{i}",
            "description": f"<p>Body of <b>{prefix}</b> {i}</p>",
            "pubDate": "Sun, 01 Nov 2026 10:00:00 GMT",
        }
        for i in range(n)
    ]


TOPICS = {
    "py": (
        "Python testing with pytest",
        "pytest fixtures make python unit testing simple; test coverage, mocking and "
        "parametrized tests help python developers ship reliable code",
    ),
    "garden": (
        "Growing tomatoes in the garden",
        "garden soil compost and watering schedules help tomatoes and vegetables grow; "
        "gardeners prune plants and harvest in late summer",
    ),
    "lead": (
        "Leadership and team management",
        "managers coach their team, give feedback in one to one meetings and set goals; "
        "leadership means delegation and trust",
    ),
}


def topic_items(
    prefix: str, n: int, start: int = 0, pub: str = "Mon, 02 Nov 2026 06:00:00 GMT"
) -> list[dict]:
    out = []
    for i in range(start, start + n):
        for key, (title, body) in TOPICS.items():
            out.append(
                {
                    "title": f"{title} #{i}",
                    "link": f"https://{key}.example.org/{prefix}/{i}",
                    "guid": f"{prefix}-{key}-{i}",
                    "description": f"<p>{body}. Part {i} of the {key} series.</p>",
                    "pubDate": pub,
                }
            )
    return out
