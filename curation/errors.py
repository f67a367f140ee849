"""The one error tree: every error the domain raises derives from :class:`CurationError`.

Each error carries the id of the thing it is about (when there is one). Errors say what went
wrong, never how to answer it: the HTTP edge maps each class to a status and a title in one place
(``app/problems.py``) and the CLI prints the detail plainly.
"""

from __future__ import annotations


class CurationError(Exception):
    """Root of every error the domain raises on purpose."""

    def __init__(self, detail: str, *, resource_id: object | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.resource_id = resource_id


class Unauthenticated(CurationError):
    """No credentials, or not valid ones."""


class Forbidden(CurationError):
    """The caller is known but may not do this (a role too low, someone else's resource)."""


class InvalidInput(CurationError):
    """A value the caller gave is not acceptable; the detail says which and why."""


class NotFound(CurationError):
    """The thing asked for does not exist (or no longer does)."""


class Conflict(CurationError):
    """The change clashes with what exists (a duplicate, a run already going)."""


class FetchError(CurationError):
    """A feed could not be fetched (network, HTTP status, limits)."""

    def __init__(
        self, detail: str, *, resource_id: object | None = None, permanent: bool = False
    ) -> None:
        super().__init__(detail, resource_id=resource_id)
        self.permanent = permanent


class AddressRefused(FetchError):
    """The URL resolves to an address our outbound policy refuses (SSRF guard)."""


class ParseError(CurationError):
    """A document is not a feed we can read at all."""


class OPMLError(InvalidInput):
    """An OPML document we cannot read."""


class FeedCheckFailed(InvalidInput):
    """A URL given as a new source does not lead to a feed: it cannot be fetched, is not a feed,
    or is a web page without a working feed link (the detail says which)."""


class Unavailable(CurationError):
    """The service cannot answer now; the same request may work later.

    ``retry_after`` is the number of seconds after which trying again makes sense (None: unknown).
    """

    def __init__(
        self, detail: str, *, resource_id: object | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(detail, resource_id=resource_id)
        self.retry_after = retry_after


class StoreBusy(Unavailable):
    """The database is held by another writer (SQLite's "database is locked", PostgreSQL's
    lock time-out) for longer than this process waits."""


class ReadOverBudget(CurationError):
    """A read ran past the time budget its caller set (:mod:`curation.storage.budget`); the
    caller runs it again without one. Never an answer: a 500 if it ever escaped."""


class SchemaNotCurrent(Unavailable):
    """The database's schema is not the one this code was written for (not upgraded yet, or
    upgraded by newer code); the detail names both revisions and what to run."""


class RateLimited(CurationError):
    """Too many requests from one API key or one client address; ``retry_after`` seconds."""

    def __init__(
        self, detail: str, *, resource_id: object | None = None, retry_after: int = 1
    ) -> None:
        super().__init__(detail, resource_id=resource_id)
        self.retry_after = retry_after
