"""The digest's rules as pure functions: which ranked items and gems make today's digest.

No I/O here: :mod:`curation.digest.service` loads candidates, calls these, and records the result.
Rules (issue 4): only items first seen since the person's previous digest (or the window for
the first one), never an item already delivered to that person, at most ``limit`` items above
the minimum relevance, gems whose audience matches the person's interests in their own section
with the curator's note, and every item with its *why*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from curation.rank.types import Candidate

FOR_YOU = "for_you"
GEMS = "gems"
SECTION_TITLES = {FOR_YOU: "For you", GEMS: "Gems from your curators"}

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class GemOffer:
    """A curator's gem: the item, the curator's note and who it is for."""

    gem_id: int
    item_id: int
    note: str
    audience: tuple[str, ...]
    curator: str | None = None


@dataclass(frozen=True, slots=True)
class Pick:
    """One line of a digest, as recorded."""

    section: str
    item_id: int
    score: float
    why: str
    gem_id: int | None = None
    note: str | None = None
    curator: str | None = None


def window_start(previous_end: datetime | None, now: datetime, first_window: timedelta) -> datetime:
    """Items first seen after this instant are new for the digest being built at ``now``."""
    return previous_end if previous_end is not None else now - first_window


def _words(phrase: str) -> frozenset[str]:
    # light normalisation so "Python testing" meets "python tests": lower case, plural -s off
    words = set()
    for w in _WORD.findall(phrase.lower()):
        words.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return frozenset(words)


def audience_matches(audience: Sequence[str], interests: Iterable[str]) -> str | None:
    """The interest an audience phrase matches, or None. An empty audience is everyone.

    An audience phrase matches an interest when the words of one are all among the words of
    the other ("python" matches "python testing"; "learning analytics" matches itself).
    """
    phrases = [_words(i) for i in interests]
    if not audience:
        return "everyone"
    for target in audience:
        words = _words(target)
        if not words:
            continue
        for interest, mine in zip(interests, phrases, strict=False):
            if mine and (words <= mine or mine <= words):
                return interest
    return None


def pick(
    ranked: Sequence[Candidate],
    gems: Sequence[GemOffer],
    *,
    interests: Sequence[str],
    delivered: set[int],
    limit: int,
    max_gems: int = 5,
) -> list[Pick]:
    """Today's lines: matching gems in their own section, then the best ranked items.

    ``ranked`` must already be filtered to the window and above the minimum relevance (the
    ranker's job) and sorted best first. An item is never picked twice, nor when delivered
    before. ``limit`` bounds the "For you" section; ``max_gems`` the gems section.
    """
    taken: set[int] = set(delivered)
    out: list[Pick] = []
    gem_count = 0
    for gem in gems:
        if gem_count >= max_gems or gem.item_id in taken:
            continue
        matched = audience_matches(gem.audience, interests)
        if matched is None:
            continue
        why = (
            "Recommended by your curators for everyone"
            if matched == "everyone"
            else f"Recommended by your curators for people interested in “{matched}”"
        )
        out.append(Pick(GEMS, gem.item_id, 1.0, why, gem.gem_id, gem.note, gem.curator))
        taken.add(gem.item_id)
        gem_count += 1
    count = 0
    for cand in ranked:
        if count >= limit:
            break
        if cand.item_id in taken:
            continue
        out.append(Pick(FOR_YOU, cand.item_id, cand.score, cand.why))
        taken.add(cand.item_id)
        count += 1
    return out
