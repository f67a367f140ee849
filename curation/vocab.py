"""The words the whole project shares: roles, feedback signals, and the limits on what people type.

The domain checks them and the HTTP schemas (``app/schemas.py``) import them, so the API and the
CLI accept exactly the same values.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Roles add up, in this order: a curator can do what a learner can, an admin both."""

    LEARNER = "learner"
    CURATOR = "curator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Signal(StrEnum):
    USEFUL = "useful"
    NOT_USEFUL = "not_useful"
    SAVED = "saved"
    OPENED = "opened"


class DeliveryStatus(StrEnum):
    """Where a recorded digest's e-mail stands (``digest.email_status``)."""

    PENDING = "pending"  # recorded, to be sent (maybe after a retry delay)
    SENDING = "sending"  # claimed by a run; its lease is in email_next_attempt_at
    SENT = "sent"
    EMPTY = "empty"  # nothing new that day: no e-mail
    FAILED = "failed"  # permanent failure, or too many temporary ones
    SKIPPED = "skipped"  # the person unsubscribed before it went out


ROLES: tuple[str, ...] = tuple(Role)
SIGNALS: tuple[str, ...] = tuple(Signal)
#: useful and not_useful replace each other (latest wins)
OPPOSITE_SIGNAL = {Signal.USEFUL: Signal.NOT_USEFUL, Signal.NOT_USEFUL: Signal.USEFUL}
#: the reactions that steer a person's ranking (saved and opened do not)
RANKED_SIGNALS = frozenset(OPPOSITE_SIGNAL)

MAX_INTERESTS = 50  # interests (and, separately, mutes) per person
MAX_PHRASE_CHARS = 100  # an interest, mute or audience phrase
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 320
MAX_WEIGHT = 10.0  # interest weights are in (0, MAX_WEIGHT]
MAX_NOTE_CHARS = 2000  # a curator's note on a gem
MAX_AUDIENCE = 20  # audience phrases per gem
MAX_URL_CHARS = 2048
MAX_SOURCE_TEXT_CHARS = 500  # a source's title or category
