"""The rules for a curator's collection: its name, description, size and public token. Pure.

A collection is published at ``/v1/feeds/{token}.atom`` and ``/v1/feeds/{token}.json`` with no
authentication: the token is the only thing that keeps the URL private, so it is 32 random
URL-safe characters (192 bits) and :func:`is_token_shaped` refuses anything else before the
database is asked. Rotating it makes a new one; the old URLs then answer 404.
"""

from __future__ import annotations

import re
import secrets

from curation.errors import InvalidInput
from curation.textrules import has_control

MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 1000
MAX_GEMS_PER_COLLECTION = 500  # also what a feed lists at most
TOKEN_BYTES = 24  # 32 URL-safe characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
FEED_PATH = "/v1/feeds"  # + /{token}.atom or /{token}.json


def clean_name(name: str) -> str:
    value = " ".join(str(name).split())
    if not value:
        raise InvalidInput("a collection needs a name")
    if has_control(value):
        raise InvalidInput("a collection name cannot contain control characters")
    if len(value) > MAX_NAME_CHARS:
        raise InvalidInput(f"collection name longer than {MAX_NAME_CHARS} characters")
    return value


def clean_description(description: str) -> str:
    value = str(description).strip()
    if has_control(value):
        raise InvalidInput("a collection description cannot contain control characters")
    if len(value) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"description longer than {MAX_DESCRIPTION_CHARS} characters")
    return value


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token_shaped(token: str) -> bool:
    """Whether ``token`` could be one of ours (anything else is a 404 without a query)."""
    return bool(_TOKEN.fullmatch(token))


def feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """The absolute Atom and JSON Feed URLs of the collection with ``token``."""
    base = base_url.rstrip("/")
    return f"{base}{FEED_PATH}/{token}.atom", f"{base}{FEED_PATH}/{token}.json"
