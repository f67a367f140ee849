"""The one rule for the item links we show (e-mail, chat posts, published feeds, xAPI)."""

from __future__ import annotations

import pytest

from curation.weblinks import web_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://example.org/a?b=1#c", "https://example.org/a?b=1#c"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        ("  https://example.org/a \n", "https://example.org/a"),
        ("javascript:alert(1)", None),
        ("mailto:ada@example.org", None),
        ("data:text/html,<b>x</b>", None),
        ("/relative/path", None),
        ("https://", None),
        ("", None),
        (None, None),
    ],
)
def test_only_absolute_http_links_are_shown(url: str | None, shown: str | None) -> None:
    assert web_url(url) == shown
