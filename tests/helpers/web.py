"""For the web page tests: read a page's CSRF token, sign a test client in with an API key,
and find the sign-in link in an e-mail."""

from __future__ import annotations

import re
from email.message import EmailMessage

from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_LINK = re.compile(r"(https?://\S+/sign-in/link\?token=[A-Za-z0-9_%-]+)")


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, api_key: str) -> None:
    """Sign ``client`` in through the sign-in page's API-key form."""
    token = csrf_of(client.get("/").text)
    answer = client.post(
        "/sign-in/key", data={"csrf": token, "api_key": api_key}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def page_csrf(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = _LINK.search(body.get_content())
    assert found, "no sign-in link in the message"
    return found.group(1)
