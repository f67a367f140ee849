"""The one error tree: every error the domain raises derives from :class:`CurationError`.

Each error carries the id of the thing it is about (when there is one) so the HTTP edge can map
it to ``application/problem+json`` in one place and the CLI can print it plainly.
"""

from __future__ import annotations


class CurationError(Exception):
    """Root of every error the domain raises on purpose."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, resource_id: object | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.resource_id = resource_id


class InvalidInput(CurationError):
    status = 422
    title = "Invalid input"


class NotFound(CurationError):
    status = 404
    title = "Not found"


class Conflict(CurationError):
    status = 409
    title = "Conflict"


class FetchError(CurationError):
    """A feed could not be fetched (network, HTTP status, limits)."""

    status = 502
    title = "Fetch failed"

    def __init__(
        self, detail: str, *, resource_id: object | None = None, permanent: bool = False
    ) -> None:
        super().__init__(detail, resource_id=resource_id)
        self.permanent = permanent


class AddressRefused(FetchError):
    """The URL resolves to an address our outbound policy refuses (SSRF guard)."""

    status = 422
    title = "Address refused"


class ParseError(CurationError):
    """A document is not a feed we can read at all."""

    status = 422
    title = "Not a feed"


class OPMLError(InvalidInput):
    title = "Invalid OPML"
