"""The over-sharing guard as pure functions (no I/O): budget, note, fraction cap, wording.

- **Weekly budget**: a person shares at most ``budget`` items in any rolling 7 days
  (``CURATION_SHARE_WEEKLY_BUDGET``); when spent, the next share is possible when the oldest
  share of the window turns 7 days old (:func:`budget_frees_at`).
- **One share of an item per team**: enforced by the ``share`` table's unique (item, team).
- **Fraction cap**: a digest carries at most ``floor(fraction × its items)`` team shares, and
  at least one when it has any item (:func:`team_share_cap`, ``CURATION_TEAM_SHARE_MAX_FRACTION``).
- **Notes**: plain text, at most :data:`MAX_NOTE_CHARS` characters, control characters out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from curation.errors import InvalidInput
from curation.textrules import strip_controls

BUDGET_WINDOW = timedelta(days=7)
MAX_NOTE_CHARS = 500
MAX_TEAM_NAME_CHARS = 100
FORMER_MEMBER = "a former member"


def clean_share_note(note: str | None) -> str | None:
    """The note as stored: plain text, trimmed, None when empty; 422 past 500 characters."""
    if note is None:
        return None
    value = strip_controls(note).strip()
    if len(value) > MAX_NOTE_CHARS:
        raise InvalidInput(f"a share's note is at most {MAX_NOTE_CHARS} characters")
    return value or None


def clean_team_name(name: str) -> str:
    value = " ".join(strip_controls(name).split())
    if not value:
        raise InvalidInput("a team needs a name")
    if len(value) > MAX_TEAM_NAME_CHARS:
        raise InvalidInput(f"a team's name is at most {MAX_TEAM_NAME_CHARS} characters")
    return value


def budget_frees_at(
    shared_at: Sequence[datetime], *, budget: int, now: datetime
) -> datetime | None:
    """None when one more share fits the budget now; else when the next one will.

    ``shared_at`` are the person's shares (any order); only those in the last 7 days count.
    """
    recent = sorted(at for at in shared_at if now - at < BUDGET_WINDOW)
    if len(recent) < budget:
        return None
    if budget <= 0:
        return now + BUDGET_WINDOW  # sharing is switched off: never frees up by waiting less
    # the share that must age out for one slot to free: the (len - budget + 1)-th oldest
    return recent[len(recent) - budget] + BUDGET_WINDOW


def budget_detail(budget: int, frees_at: datetime) -> str:
    """The 429's detail: the budget and when it frees up."""
    return (
        f"weekly share budget spent: at most {budget} shares in any 7 days"
        f" (CURATION_SHARE_WEEKLY_BUDGET); your next share is possible from"
        f" {frees_at.strftime('%Y-%m-%d %H:%M')} UTC"
    )


def team_share_cap(other_items: int, fraction: float) -> int:
    """How many team shares a digest with ``other_items`` other items may carry.

    The largest ``t`` with ``t <= fraction × (other_items + t)`` (rounded down), and at least
    1 (so a digest with a single own item, or none, may still carry one share).
    At fraction 0.3: 0–4 own items → 1 share, 5–6 → 2, 7–9 → 3, 10–11 → 4.
    """
    if fraction >= 1.0:
        return 10**9
    if fraction <= 0.0:
        return 0
    return max(1, math.floor(fraction * other_items / (1.0 - fraction) + 1e-9))


def shared_why(sharer: str | None, team: str, interest_why: str | None) -> str:
    """The *why* of a team entry: who shared it with which team, and how it meets the reader."""
    who = sharer or FORMER_MEMBER
    head = f"Shared by {who} with your team “{team}”."
    return f"{head} {interest_why}" if interest_why else head
