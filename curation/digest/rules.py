"""The digest's rules as pure functions: which ranked items and gems make today's digest.

No I/O here: :mod:`curation.digest.service` loads candidates, calls these, and records the result.
Rules (issue 4): only items first seen since the person's previous digest (or the window for
the first one), never an item already delivered to that person, at most ``limit`` items above
the minimum relevance, gems whose audience matches the person's interests in their own section
with the curator's note, and every item with its *why*.

Team shares (issue 15): items a teammate shared with one of the person's teams since their
window start, not shared by themselves and never delivered to them, in the "From your team"
section, ordered by the person's own score of each item (the ranker's, see
:meth:`curation.rank.recommender.Recommender.score_items`), at most
:func:`curation.teams.rules.team_share_cap` of them (the fraction cap). A gem aimed at teams
reaches the members of those teams as well as the people its audience phrases match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from curation.rank.types import Candidate
from curation.teams.rules import shared_why, team_share_cap

FOR_YOU = "for_you"
GEMS = "gems"
TEAM = "team"
SECTION_TITLES = {FOR_YOU: "For you", TEAM: "From your team", GEMS: "Gems from your curators"}

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class GemOffer:
    """A curator's gem: the item, the curator's note and who it is for."""

    gem_id: int
    item_id: int
    note: str
    audience: tuple[str, ...]
    curator: str | None = None
    teams: tuple[tuple[int, str], ...] = ()  # (team id, name) it is aimed at, besides audience


@dataclass(frozen=True, slots=True)
class TeamOffer:
    """An item a teammate shared with one of the person's teams, scored for the person."""

    share_id: int
    item_id: int
    team: str
    shared_by: str | None  # None once the sharer was deleted
    note: str | None
    score: float = 0.0  # the person's own score of the item (0 when it does not match them)
    why: str | None = None  # how it meets the person's interests, when it does


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
    share_id: int | None = None
    shared_by: str | None = None


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


def gem_reaches(gem: GemOffer, interests: Sequence[str], teams: Set[int]) -> str | None:
    """Why ``gem`` reaches a person with these interests and teams, or None when it does not.

    A gem aimed at teams reaches their members, and the people its audience phrases match
    (an empty audience then means nobody else, not everyone)."""
    for team_id, name in gem.teams:
        if team_id in teams:
            return f"Recommended by your curators for the {name} team"
    if gem.teams and not gem.audience:
        return None
    matched = audience_matches(gem.audience, interests)
    if matched is None:
        return None
    if matched == "everyone":
        return "Recommended by your curators for everyone"
    return f"Recommended by your curators for people interested in “{matched}”"


def pick(
    ranked: Sequence[Candidate],
    gems: Sequence[GemOffer],
    *,
    interests: Sequence[str],
    delivered: set[int],
    limit: int,
    max_gems: int = 5,
    teams: Set[int] = frozenset(),
    shares: Sequence[TeamOffer] = (),
    max_team_fraction: float = 0.3,
) -> list[Pick]:
    """Today's lines: matching gems in their own section, the best ranked items, and the
    teammates' shares best first for this person (within the fraction cap).

    ``ranked`` must already be filtered to the window and above the minimum relevance (the
    ranker's job) and sorted best first. An item is never picked twice, nor when delivered
    before. ``limit`` bounds the "For you" section; ``max_gems`` the gems section; the team
    section holds at most :func:`team_share_cap` of (gems + "For you") items. A shared item
    is shown in the team section (with the sharer's note) rather than in "For you".
    """
    taken: set[int] = set(delivered)
    out: list[Pick] = []
    gem_count = 0
    for gem in gems:
        if gem_count >= max_gems or gem.item_id in taken:
            continue
        why = gem_reaches(gem, interests, teams)
        if why is None:
            continue
        out.append(Pick(GEMS, gem.item_id, 1.0, why, gem.gem_id, gem.note, gem.curator))
        taken.add(gem.item_id)
        gem_count += 1
    offered: list[TeamOffer] = []
    for share in sorted(shares, key=lambda s: (-s.score, s.share_id)):
        if share.item_id not in taken and all(o.item_id != share.item_id for o in offered):
            offered.append(share)
    if offered:  # how many "For you" items there would be without any share: the cap's base
        others = gem_count + _for_you_count(ranked, taken | {s.item_id for s in offered}, limit)
        offered = offered[: team_share_cap(others, max_team_fraction)]
    for share in offered:
        why = shared_why(share.shared_by, share.team, share.why)
        out.append(
            Pick(
                TEAM,
                share.item_id,
                share.score,
                why,
                note=share.note,
                share_id=share.share_id,
                shared_by=share.shared_by,
            )
        )
        taken.add(share.item_id)
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


def _for_you_count(ranked: Sequence[Candidate], taken: Set[int], limit: int) -> int:
    count = 0
    for cand in ranked:
        if count >= limit:
            break
        if cand.item_id not in taken:
            count += 1
    return count
