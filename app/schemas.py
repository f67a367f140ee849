"""Typed request and response bodies of the HTTP API.

Request models forbid unknown fields (a typo or a privileged field is a 422 that names it).
Every string a client sends is checked to be text a database can store: no NUL or other
control characters (tabs and line breaks only where a note may have them) and no lone UTF-16
surrogates, so that bad input is a clear 422 on SQLite and PostgreSQL alike, never a 500.
Optional fields of PATCH bodies may be left out but not set to null.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from curation.textrules import has_control, has_line_break

MAX_ID = 2**31 - 1  # ids are 32-bit integers on every backend; above is a 422, not a 404


def _text(value: str) -> str:
    if has_control(value):
        raise ValueError("must not contain control characters or lone surrogates")
    return value


def _line(value: str) -> str:
    _text(value)
    if "\t" in value or has_line_break(value):
        raise ValueError("must be a single line")
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"unknown time zone {value[:64]!r}: use an IANA name like Europe/Paris")
    return value


def utc_instant(value: datetime) -> datetime:
    """An aware UTC datetime (naive means UTC); out-of-range instants are a ValueError."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range") from None


Text = Annotated[str, AfterValidator(_text)]
Line = Annotated[str, AfterValidator(_line)]
Phrase = Annotated[Line, Field(min_length=1, max_length=100, pattern=r"\S")]
Name = Annotated[Line, Field(min_length=1, max_length=200, pattern=r"\S")]
Email = Annotated[Line, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
TimeZone = Annotated[Line, Field(max_length=64), AfterValidator(_zone)]
Hour = Annotated[int, Field(ge=0, le=23)]
Weight = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Url = Annotated[Line, Field(min_length=1, max_length=2048)]
Instant = Annotated[datetime, AfterValidator(utc_instant)]
Role = Literal["learner", "curator", "admin"]
Signal = Literal["useful", "not_useful", "saved", "opened"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _without_null(schema: dict) -> None:
    """Document an omittable field as its plain type: null is refused (see :class:`Patch`)."""
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if branches:
        schema.update(branches[0])
    schema.pop("default", None)


class Patch(Strict):
    """A partial update: fields may be omitted, but an explicit null is refused by name."""

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null (leave the field out to keep its value)")
        return value

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_unset=True)


# ---- errors -----------------------------------------------------------------------------


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


# ---- people -----------------------------------------------------------------------------


class InterestIn(Strict):
    phrase: Phrase
    weight: Weight = 1.0


class InterestOut(BaseModel):
    phrase: str
    weight: float


class PersonCreate(Strict):
    email: Email
    name: Name
    role: Role = "learner"
    timezone: TimeZone = "UTC"
    digest_hour: Hour = 7
    interests: list[InterestIn] = Field(default_factory=list, max_length=50)
    mutes: list[Phrase] = Field(default_factory=list, max_length=50)


_OMITTABLE = Field(default=None, json_schema_extra=_without_null)


class PersonPatch(Patch):
    """What an admin may change about anyone."""

    email: Email | None = _OMITTABLE
    name: Name | None = _OMITTABLE
    role: Role | None = _OMITTABLE
    timezone: TimeZone | None = _OMITTABLE
    digest_hour: Hour | None = _OMITTABLE
    email_digests: bool | None = _OMITTABLE


class MePatch(Patch):
    """What people may change about themselves: never their role or e-mail address."""

    name: Name | None = _OMITTABLE
    timezone: TimeZone | None = _OMITTABLE
    digest_hour: Hour | None = _OMITTABLE
    email_digests: bool | None = _OMITTABLE


class PersonOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    timezone: str
    digest_hour: int
    email_digests: bool
    created_at: datetime
    interests: list[InterestOut]
    mutes: list[str]


class PersonCreated(PersonOut):
    api_key: str = Field(description="Shown once: only a hash is stored.")


class PersonPage(BaseModel):
    people: list[PersonOut]
    next_cursor: str | None


class ApiKeyOut(BaseModel):
    api_key: str = Field(description="Shown once: the previous key stops working.")


class FeedbackIn(Strict):
    item_id: Id
    signal: Signal


class FeedbackOut(BaseModel):
    item_id: int
    signal: Signal
    at: datetime


# ---- sources and ingest -----------------------------------------------------------------


class SourceIn(Strict):
    url: Url = Field(
        description="A feed, or a web page that links to one (its first working feed is added)."
    )
    title: Annotated[Line, Field(max_length=500)] | None = Field(
        default=None, description="Default: the feed's own title."
    )
    category: Annotated[Line, Field(max_length=500)] | None = Field(
        default=None, description="Slash-separated path, e.g. Technology/Python."
    )


class SourcePatch(Patch):
    """Rename, recategorise, pause (``active: false``) or resume a source."""

    title: Annotated[Line, Field(max_length=500)] | None = Field(
        default=None,
        description="An empty title clears it: the source takes its feed's at the next fetch.",
        json_schema_extra=_without_null,
    )
    category: Annotated[Line, Field(max_length=500)] | None = Field(
        default=None,
        description="Slash-separated path; an empty one clears it.",
        json_schema_extra=_without_null,
    )
    active: bool | None = Field(
        default=None,
        description="false pauses the source (never polled); true resumes it (due now).",
        json_schema_extra=_without_null,
    )


class SourceOut(BaseModel):
    id: int
    url: str = Field(description="Credentials in the URL are masked: https://user:***@host/.")
    title: str | None
    html_url: str | None
    category: str | None
    active: bool
    status: str
    last_error: str | None
    warning: str | None = Field(
        None,
        description="What the last stored fetch found odd (ids that change on every fetch,"
        " a guessed encoding …); null when nothing.",
    )
    error_count: int
    last_fetched_at: datetime | None
    next_attempt_at: datetime | None
    item_count: int


class FeedCheckOut(BaseModel):
    """What the check of a new source found."""

    format: str = Field(description="rss20, atom10, json11 …")
    entries: int
    found_on: str | None = Field(
        description="The web page the feed was found on; null when the URL given was the feed."
    )
    other_feeds: list[str] = Field(description="The page's other feed links, not added.")


class SourceAdded(SourceOut):
    check: FeedCheckOut | None = Field(description="Null when added with check=false.")


class SourcePage(BaseModel):
    items: list[SourceOut]
    next_cursor: str | None


class SkippedOutline(BaseModel):
    line: int | None
    reason: str
    url: str | None = None


class ImportOut(BaseModel):
    added: int
    already_present: int
    skipped: list[SkippedOutline]


class OutcomeOut(BaseModel):
    source_id: int
    url: str
    status: str
    new: int
    updated: int
    linked: int
    skipped_entries: int
    error: str | None


class IngestOut(BaseModel):
    summary: str
    sources: int
    ok: int
    not_modified: int
    failed: int
    new_items: int
    updated_items: int
    elapsed_seconds: float
    outcomes: list[OutcomeOut]


# ---- items and gems ---------------------------------------------------------------------


class SourceRefOut(BaseModel):
    id: int
    title: str | None


class ItemHead(BaseModel):
    """What every answer about an item starts with (the item list and digests)."""

    id: int
    title: str = Field(description="Plain text: escape it on output.")
    url: str | None
    summary: str = Field(description="Sanitised HTML.")


class ItemOut(ItemHead):
    author: str | None
    published_at: datetime | None
    first_seen_at: datetime
    source: SourceRefOut | None = Field(description="The source the item was first seen in.")
    sources: list[SourceRefOut] = Field(description="Every source that carried the item.")


class ItemDetail(ItemOut):
    content: str = Field(description="Sanitised HTML.")


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None


class GemIn(Strict):
    item_id: Id
    note: Annotated[Text, Field(max_length=2000)] = ""
    audience: list[Phrase] = Field(
        default_factory=list, max_length=20, description="Interest phrases it is for."
    )
    teams: list[Id] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "Team ids it is for: their members get it too (with teams and no audience, only"
            " they do)."
        ),
    )


class GemPatch(Patch):
    """Any of a gem's note, audience and teams; what is left out is kept."""

    note: Annotated[Text, Field(max_length=2000)] | None = _OMITTABLE
    audience: list[Phrase] | None = Field(
        default=None,
        max_length=20,
        description="Interest phrases it is for (replaces them; [] for none).",
        json_schema_extra=_without_null,
    )
    teams: list[Id] | None = Field(
        default=None,
        max_length=50,
        description=(
            "Team ids it is for (replaces them; [] for none). With teams and no audience, only"
            " their members get it."
        ),
        json_schema_extra=_without_null,
    )


class ItemRefOut(BaseModel):
    id: int
    title: str
    url: str | None


class TeamRefOut(BaseModel):
    id: int
    name: str


class CuratorOut(BaseModel):
    id: int
    name: str | None


class GemOut(BaseModel):
    id: int
    item_id: int
    item: ItemRefOut
    curator: CuratorOut | None = Field(description="Null once the curator has been deleted.")
    note: str
    audience: list[str]
    teams: list[TeamRefOut] = Field(default_factory=list, description="Teams it is aimed at.")
    created_at: datetime


class GemPage(BaseModel):
    gems: list[GemOut]
    next_cursor: str | None


# ---- collections and insights (issue 13) ---------------------------------------------------

PeopleCount = Annotated[
    int | Literal["fewer than 5"],
    Field(description='A count of people, or "fewer than 5" when under 5 (never the number).'),
]


class CollectionIn(Strict):
    name: Annotated[Line, Field(min_length=1, max_length=100, pattern=r"\S")]
    description: Annotated[Text, Field(max_length=1000)] = ""


class CollectionGemIn(Strict):
    gem_id: Id
    position: int | None = Field(
        None, ge=1, le=500, description="Where to put it (1 is first); default: last."
    )


class CollectionGemMove(Strict):
    position: int = Field(ge=1, le=500, description="1 is first; past the end means last.")


class CollectionOut(BaseModel):
    id: int
    name: str
    description: str
    feed_url: str = Field(description="Atom (RFC 4287), public: anyone with the URL can read it.")
    json_feed_url: str = Field(description="JSON Feed 1.1, public like `feed_url`.")
    gem_count: int
    created_at: datetime
    updated_at: datetime


class CollectionDetail(CollectionOut):
    gems: list[GemOut] = Field(description="In the collection's order.")


class CollectionList(BaseModel):
    collections: list[CollectionOut]


class TrendPointOut(BaseModel):
    day: str = Field(description="YYYY-MM-DD (UTC)")
    people: PeopleCount


class InterestInsightOut(BaseModel):
    phrase: str
    people: PeopleCount
    items_7d: int = Field(description="Items first seen in 7 days above the relevance floor.")
    items_30d: int = Field(description="The same over 30 days.")
    gap: bool = Field(description="Too few items in 30 days (CURATION_INSIGHT_GAP_ITEMS).")
    trend: list[TrendPointOut] = Field(
        description="People who declared it, per day recorded over 90 days, oldest first."
    )


class InterestInsights(BaseModel):
    interests: list[InterestInsightOut]


class SourceInsightOut(BaseModel):
    source_id: int
    title: str | None
    items_30d: int = Field(description="Items first seen in 30 days that it brought first.")
    reached: int = Field(description="Of those, items that reached at least one digest.")
    reached_share: float | None = Field(description="reached / items_30d (null: no items).")
    useful: PeopleCount = Field(description="People who marked one of those items useful.")
    not_useful: PeopleCount = Field(description="People who marked one not for them.")
    noise: bool = Field(description="Many items in 30 days and none reached anyone.")


class SourceInsights(BaseModel):
    sources: list[SourceInsightOut]


class GemInsightOut(BaseModel):
    gem_id: int
    item_id: int
    item_title: str
    delivered: PeopleCount = Field(description="People whose digest held it.")
    opened: PeopleCount = Field(description="People who opened it from a digest e-mail.")
    useful: PeopleCount = Field(description="People who marked it useful.")


class GemInsights(BaseModel):
    gems: list[GemInsightOut]


class InterestMatchOut(BaseModel):
    phrase: str
    people: PeopleCount
    relevance: float


class ItemReachOut(BaseModel):
    item_id: int
    in_window: bool = Field(description="False: older than the ranking window; reaches nobody.")
    interests: list[InterestMatchOut]
    people: PeopleCount = Field(description="People who declared at least one of them.")


class PersonalFeedsOut(BaseModel):
    """The caller's private digest feed URLs (issue 14)."""

    atom_url: str = Field(
        description="Atom (RFC 4287) of the caller's recorded digests; no authentication: keep "
        "it private, rotate it when it leaked."
    )
    json_url: str = Field(description="The same digests as JSON Feed 1.1.")


# ---- delivery channels: e-mail cadence, Slack / Teams webhooks (issue 14) --------------------


class ChannelIn(Strict):
    kind: Literal["email", "slack", "teams"]
    url: str | None = Field(
        None,
        max_length=2000,
        description="The incoming-webhook URL (slack and teams only): https, public addresses.",
    )
    cadence: Literal["daily", "weekdays", "weekly"] = "daily"
    weekday: int | None = Field(
        None, ge=0, le=6, description="For a weekly cadence: 0 Monday … 6 Sunday (local)."
    )


class ChannelOut(BaseModel):
    id: int
    kind: str
    url: str | None = Field(description="The webhook URL, masked: never shown back in full.")
    cadence: str
    weekday: int | None
    disabled_reason: str | None = Field(
        description="Set when the webhook was found gone (404/410): nothing more is posted."
    )
    created_at: datetime


class ChannelList(BaseModel):
    channels: list[ChannelOut]
