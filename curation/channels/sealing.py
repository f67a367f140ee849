"""Webhook URLs at rest: sealed with Fernet (AES-128-CBC and HMAC-SHA256, from the
``cryptography`` package) under a key derived from the service's secret key
(``CURATION_SECRET_KEY``, or the key file made once: :func:`curation.mail.tokens.load_secret`).

A database dump or backup then shows ``enc1:…`` instead of URLs that let anyone post to a
room. Rotating the secret key makes sealed URLs unreadable: the delivery records "cannot be
read" for those channels and the person adds them again. A stored value without the prefix is
read as it is (rows written before sealing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from functools import cached_property

from cryptography.fernet import Fernet, InvalidToken

from curation.errors import CurationError
from curation.mail.tokens import load_secret
from curation.settings import Settings

PREFIX = "enc1:"
_CONTEXT = b"curation: webhook URLs at rest, v1"


class UrlSeal:
    """Seals and opens webhook URLs; the key is derived on first use (``secret`` is called
    then, so building one reads no file)."""

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret

    @cached_property
    def _fernet(self) -> Fernet:
        key = hmac.new(self._secret().encode(), _CONTEXT, hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def seal(self, url: str) -> str:
        return PREFIX + self._fernet.encrypt(url.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise CurationError(
                "the webhook URL cannot be read (the secret key changed?): add the channel again"
            ) from None


def seal_for(settings: Settings) -> UrlSeal:
    return UrlSeal(lambda: load_secret(settings))
