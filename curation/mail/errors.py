"""Errors raised by the e-mail path; all derive from :class:`curation.errors.CurationError`."""

from __future__ import annotations

from curation.errors import CurationError, InvalidInput


class InvalidLink(InvalidInput):
    """A link token that is malformed, forged, or for another action."""


class ExpiredLink(InvalidLink):
    """A genuine link token whose time has passed."""


class DeliveryFailed(CurationError):
    """A message could not be handed to the mail server."""


class TemporaryFailure(DeliveryFailed):
    """Try again later: a 4xx reply, a dropped connection, a timeout."""


class TransportUnavailable(TemporaryFailure):
    """The mail server cannot be reached or refuses us (not this message): stop the batch."""


class PermanentFailure(DeliveryFailed):
    """The server refused this message for good (a 5xx reply): do not retry."""
