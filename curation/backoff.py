"""Exponential backoff: the one rule for how long to wait after repeated failures.

Used by feed polling (:mod:`curation.ingest.schedule`) and e-mail delivery
(:mod:`curation.mail.deliver`): the first failure waits ``base``, each further one doubles the
wait, never beyond ``cap``.
"""

from __future__ import annotations

from datetime import timedelta


def backoff_delay(failures: int, base: timedelta, cap: timedelta) -> timedelta:
    """The wait after the ``failures``-th consecutive failure (1 → ``base``), at most ``cap``."""
    exponent = max(0, min(failures - 1, 30))
    return min(base * (2**exponent), cap)
