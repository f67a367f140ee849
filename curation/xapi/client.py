"""Posting statements to a learning record store: ``POST {CURATION_XAPI_URL}/statements``.

A JSON array, HTTP basic auth (``CURATION_XAPI_USER`` / ``CURATION_XAPI_PASSWORD``) and the
``X-Experience-API-Version: 1.0.3`` header. The answer is data (:class:`PostResult`): the
caller decides what a status means. Refused connections, timeouts and unreadable answers are a
result with ``status`` 0, never an exception.

The LRS URL is an operator's setting, not user input, so the feeds' address policy (which
refuses internal addresses) does not apply: an LRS on the same network is the usual case.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from curation.xapi.statements import XAPI_VERSION


@dataclass(frozen=True, slots=True)
class PostResult:
    status: int  # the HTTP status; 0 when no answer came
    detail: str = ""

    @property
    def accepted(self) -> bool:
        """Stored (200; 204 is what some LRSs answer to PUT) or already there (409)."""
        return self.status in (200, 204, 409)


class XapiClient:
    def __init__(self, url: str, *, user: str, password: str, timeout: float) -> None:
        self.endpoint = url.rstrip("/") + "/statements"
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self.headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/json",
            "X-Experience-API-Version": XAPI_VERSION,
        }
        self.timeout = timeout

    def post(self, bodies: Sequence[str]) -> PostResult:
        """Post statements (each already JSON) as one array."""
        data = ("[" + ",".join(bodies) + "]").encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - an http(s) URL from the operator
            self.endpoint, data=data, headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                answer.read()
                return PostResult(answer.status)
        except urllib.error.HTTPError as exc:
            return PostResult(exc.code, _said(exc))
        except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
            return PostResult(0, f"{type(exc).__name__}: {exc}")


def _said(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(2000).decode("utf-8", "replace")
    except OSError:
        body = ""
    try:
        body = json.dumps(json.loads(body))[:300]
    except ValueError:
        body = body[:300]
    return f"HTTP {exc.code}: {body}".strip()
