"""Database tables (SQLModel). Rows stay in :mod:`curation.storage`; other modules get dataclasses.

- ``source``: a feed we poll, with its HTTP validators and its own health (status, last error,
  error count, next attempt).
- ``item``: one article, stored once however many feeds carry it (``dedupe_key`` is its
  canonical URL, or its feed's ``item_key`` and GUID when it has no link). Its origin source is
  the feed whose version is shown (:mod:`curation.ingest.ownership` decides which).
- ``item_source``: which feeds carried an item, under which GUID. ``(source_id, guid)`` is unique,
  so two concurrent ingest runs cannot insert an entry twice, and a feed's GUIDs only ever
  address its own entries.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from curation.clock import utcnow


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def _ref(
    table: str, *, ondelete: str = "CASCADE", nullable: bool = False, index: bool = False
) -> Column:
    """A reference to a row of ``table`` by its id; ``ondelete``: what deleting that row does."""
    return Column(
        Integer, ForeignKey(f"{table}.id", ondelete=ondelete), nullable=nullable, index=index
    )


# SQLite without AUTOINCREMENT hands a deleted newest row's id to the next row; with it, an id
# names one row forever (as PostgreSQL's sequences already do). Every table; migration 0007.
IDS_NEVER_REUSED = {"sqlite_autoincrement": True}


class Source(SQLModel, table=True):
    __tablename__ = "source"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    title: str | None = Field(default=None, sa_column=Column(Text))
    html_url: str | None = Field(default=None, sa_column=Column(Text))
    category: str | None = Field(default=None, sa_column=Column(Text))
    active: bool = Field(default=True)
    # new | ok | not_modified | error | gone | refused
    status: str = Field(default="new", max_length=20)
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, sa_column=Column(Text))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    error_count: int = Field(default=0)
    last_fetched_at: datetime | None = Field(default=None, sa_column=_ts())
    last_success_at: datetime | None = Field(default=None, sa_column=_ts())
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    # what the last stored fetch found odd about the feed (e.g. ids changing on every fetch)
    warning: str | None = Field(default=None, sa_column=Column(Text))
    # the key of its link-less items (a hash of the URL it was added with; migration 0010)
    item_key: str | None = Field(default=None, sa_column=Column(Text))


class Item(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = IDS_NEVER_REUSED
    # no index on published_at: no query filters or sorts on it (lists go by id, windows by
    # first_seen_at), and each index is paid on every insert (migration 0006 dropped it)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    # found by ix_item_source_seen (origin_source_id, first_seen_at): no index of its own
    # (migration 0022)
    origin_source_id: int | None = Field(
        default=None,
        sa_column=_ref("source", ondelete="SET NULL", nullable=True),
    )
    url: str | None = Field(default=None, sa_column=Column(Text))
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    author: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = Field(default=None, sa_column=_ts())
    updated_at: datetime | None = Field(default=None, sa_column=_ts())
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))
    content_hash: str = Field(max_length=64)
    # a date's text when the stored value is not the feed's own (clamped or nonsense)
    published_raw: str | None = Field(default=None, sa_column=Column(Text))
    updated_raw: str | None = Field(default=None, sa_column=Column(Text))


class ItemSource(SQLModel, table=True):
    __tablename__ = "item_source"
    __table_args__ = (
        UniqueConstraint("source_id", "guid", name="uq_item_source_guid"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    # found by the unique (source_id, guid) index: no index of its own (migration 0022)
    source_id: int = Field(sa_column=_ref("source"))
    guid: str = Field(sa_column=Column(Text, nullable=False))
    item_id: int = Field(sa_column=_ref("item", index=True))
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


metadata = SQLModel.metadata


# ---- people and what they told us ---------------------------------------------------------


class Person(SQLModel, table=True):
    """A learner, curator or admin. ``api_key_hash`` is a SHA-256 of the key (shown once)."""

    __tablename__ = "person"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(default="learner", max_length=20)  # learner | curator | admin
    timezone: str = Field(default="UTC", max_length=64)
    digest_hour: int = Field(default=7)
    email_digests: bool = Field(default=True)  # False once unsubscribed
    api_key_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Interest(SQLModel, table=True):
    __tablename__ = "interest"
    __table_args__ = (
        UniqueConstraint("person_id", "phrase", name="uq_interest_phrase"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=_ref("person"))
    phrase: str = Field(sa_column=Column(Text, nullable=False))
    weight: float = Field(default=1.0)


class Mute(SQLModel, table=True):
    __tablename__ = "mute"
    __table_args__ = (
        UniqueConstraint("person_id", "phrase", name="uq_mute_phrase"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=_ref("person"))
    phrase: str = Field(sa_column=Column(Text, nullable=False))


class Feedback(SQLModel, table=True):
    """A person's reaction to an item: useful | not_useful | saved | opened (latest wins)."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("person_id", "item_id", "signal", name="uq_feedback_signal"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=_ref("person", index=True))
    item_id: int = Field(sa_column=_ref("item"))
    signal: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class RankModel(SQLModel, table=True):
    """The fitted TF-IDF model of the recent item window (built in the batch step, reused)."""

    __tablename__ = "rank_model"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    item_count: int = Field(default=0)
    max_item_id: int = Field(default=0)
    blob: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


# ---- digests ------------------------------------------------------------------------------


class Digest(SQLModel, table=True):
    """One person's digest for one local date: built once, then the same content after.

    ``payload`` is the rendered digest (JSON) so that the API and the e-mail show exactly what
    was recorded. The e-mail fields track delivery: it is recorded before sending and marked
    sent after, so a crash never sends twice or loses a digest.
    """

    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("person_id", "day", name="uq_digest_day"), IDS_NEVER_REUSED)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=_ref("person"))
    day: str = Field(max_length=10)  # YYYY-MM-DD in the person's time zone
    window_start: datetime = Field(sa_column=_ts(nullable=False))
    window_end: datetime = Field(sa_column=_ts(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    item_count: int = Field(default=0)
    # the newest item id when it was built or last filled: what arrived later is new to it
    seen_item_id: int | None = Field(default=None)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    # pending | sending | sent | empty | failed
    email_status: str = Field(default="pending", max_length=20)
    email_attempts: int = Field(default=0)
    email_error: str | None = Field(default=None, sa_column=Column(Text))
    email_next_attempt_at: datetime | None = Field(default=None, sa_column=_ts())
    email_sent_at: datetime | None = Field(default=None, sa_column=_ts())


class DigestItem(SQLModel, table=True):
    """An item delivered to a person. ``(person_id, item_id)`` is unique: never twice."""

    __tablename__ = "digest_item"
    __table_args__ = (
        UniqueConstraint("person_id", "item_id", name="uq_digest_item_once"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(sa_column=_ref("digest", index=True))
    person_id: int = Field(sa_column=_ref("person"))
    item_id: int = Field(sa_column=_ref("item"))
    section: str = Field(max_length=20)  # for_you | gems
    position: int = Field(default=0)
    score: float = Field(default=0.0)


# ---- curators' gems -----------------------------------------------------------------------


class Gem(SQLModel, table=True):
    """A curator's pick: an item, a note and who it is for. One per (item, curator).

    ``audience`` is a JSON list of interest phrases; the curator may be deleted (SET NULL).
    """

    __tablename__ = "gem"
    __table_args__ = (
        UniqueConstraint("item_id", "curator_id", name="uq_gem_item_curator"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(sa_column=_ref("item", index=True))
    curator_id: int | None = Field(
        default=None,
        sa_column=_ref("person", ondelete="SET NULL", index=True, nullable=True),
    )
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    audience: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))


# ---- web sign-in --------------------------------------------------------------------------


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link mailed to a person: only a SHA-256 of its token is kept.

    ``used_at`` is set by the one redemption that succeeds; a used or expired link never works.
    """

    __tablename__ = "sign_in_link"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(sa_column=_ref("person", index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=_ts())


# ---- collections and opens (issue 13; migration 0011) -------------------------------------


class Collection(SQLModel, table=True):
    """A curator's named, ordered list of gems, published as Atom and JSON Feed.

    ``token`` is the unguessable part of the public feed URLs; rotating it retires the old URLs.
    """

    __tablename__ = "collection"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    curator_id: int | None = Field(
        default=None, sa_column=_ref("person", ondelete="SET NULL", nullable=True)
    )
    token: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class CollectionGem(SQLModel, table=True):
    """A gem's place in a collection (``position`` ascending); a gem is in a collection once."""

    __tablename__ = "collection_gem"
    __table_args__ = (
        UniqueConstraint("collection_id", "gem_id", name="uq_collection_gem"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int = Field(sa_column=_ref("collection"))
    gem_id: int = Field(sa_column=_ref("gem", index=True))
    position: int = Field(default=0)
    added_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class ItemOpen(SQLModel, table=True):
    """A person opened an item from a digest e-mail: one row per (person, item), the first
    counted open. Read only as aggregates (never who opened what)."""

    __tablename__ = "item_open"
    __table_args__ = (
        UniqueConstraint("person_id", "item_id", name="uq_item_open_once"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=_ref("person"))
    item_id: int = Field(sa_column=_ref("item", index=True))
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


# the insight queries count per item across everyone: by item, not by person (migration 0011)
Index("ix_digest_item_item_id", DigestItem.__table__.c.item_id)
Index("ix_feedback_item_signal", Feedback.__table__.c.item_id, Feedback.__table__.c.signal)
# a person's saved (or useful) items, newest first: the saved list and the portfolio (0017)
Index(
    "ix_feedback_person_signal_at",
    Feedback.__table__.c.person_id,
    Feedback.__table__.c.signal,
    Feedback.__table__.c.created_at,
)
# the digests whose e-mail waits (pending, or sending past a lease): found without reading every
# digest ever recorded (migration 0021)
Index(
    "ix_digest_email_due", Digest.__table__.c.email_status, Digest.__table__.c.email_next_attempt_at
)
# per source, the items first seen since a date, read from the index alone (source value)
Index("ix_item_source_seen", Item.__table__.c.origin_source_id, Item.__table__.c.first_seen_at)


# ---- delivery channels: Slack / Teams webhooks and the e-mail cadence (issue 14; 0014) -----


class Channel(SQLModel, table=True):
    """Where a person's digest goes: ``email`` (its cadence only) or a ``slack`` / ``teams``
    incoming webhook. ``url`` is a secret: never logged, shown back masked only.
    ``days`` is the cadence as the local weekdays it sends on (7 characters, Sunday first, "1"
    for a day it sends: ``0111110`` is Monday–Friday), written from the one rule in
    :mod:`curation.channels.cadence` so that SQL can test a digest's day without a copy of it.
    ``disabled_reason`` is set when the webhook is gone (404/410): no more posts."""

    __tablename__ = "channel"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=_ref("person", index=True))
    kind: str = Field(max_length=10)  # email | slack | teams
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cadence: str = Field(default="daily", max_length=10)  # daily | weekdays | weekly
    weekday: int | None = Field(default=None)  # 0 Monday … 6 Sunday (weekly only)
    days: str = Field(default="1111111", max_length=7)
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class ChannelDelivery(SQLModel, table=True):
    """One digest posted to one webhook channel: recorded before sending, claimed with a lease
    (``next_attempt_at`` while ``sending``), marked ``sent`` after a 2xx; unique per pair."""

    __tablename__ = "channel_delivery"
    __table_args__ = (
        UniqueConstraint("digest_id", "channel_id", name="uq_channel_delivery_once"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(sa_column=_ref("digest"))
    channel_id: int = Field(sa_column=_ref("channel", index=True))
    state: str = Field(default="pending", max_length=20)  # pending|sending|sent|failed|skipped
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts())
    error: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())


Index("ix_channel_delivery_state", ChannelDelivery.__table__.c.state)


# ---- personal digest feeds and xAPI statements (issue 14; migration 0013) -----------------


class PersonalFeed(SQLModel, table=True):
    """The private feed URLs of one person's digests: ``token`` is their only key.

    The token is kept as it is (not hashed) because ``GET /v1/me/feeds`` shows the URLs again
    whenever asked; rotating it (a new random token) retires the old URLs at once.
    """

    __tablename__ = "personal_feed"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    token: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class XapiOutbox(SQLModel, table=True):
    """An xAPI statement waiting for (or already accepted by) the learning record store.

    ``statement_id`` is derived from what happened (person, item, verb, when), so collecting the
    same event twice adds nothing; ``state`` is pending until the LRS answered 200 (or 409:
    it already has that id), then sent. A failed batch sets ``next_attempt_at`` (backoff).
    """

    __tablename__ = "xapi_outbox"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    statement_id: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    body: str = Field(sa_column=Column(Text, nullable=False))  # the statement as JSON
    state: str = Field(default="pending", max_length=20)  # pending | sent
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts())
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())


class XapiWatermark(SQLModel, table=True):
    """How far the xAPI collector has scanned each source of events (``name`` → ``position``:
    a row id, or a time as epoch microseconds)."""

    __tablename__ = "xapi_watermark"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


Index("ix_xapi_outbox_due", XapiOutbox.__table__.c.state, XapiOutbox.__table__.c.next_attempt_at)


class InterestSnapshot(SQLModel, table=True):
    """How many people declared an interest (grouped ignoring case) on a day: the trend of
    the curators' insight page. One row per (day, phrase), written once a day (migration 0011)."""

    __tablename__ = "interest_snapshot"
    __table_args__ = (
        UniqueConstraint("day", "phrase_key", name="uq_interest_snapshot_day"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(max_length=10)  # YYYY-MM-DD, UTC
    phrase_key: str = Field(sa_column=Column(Text, nullable=False))
    people: int = Field(default=0)


class InsightFigures(SQLModel, table=True):
    """The latest computation of one insight figure (``interests``, ``sources``, ``gems``) as
    JSON, written by whoever computed it (the scheduler, a worker, or an API process with no
    scheduler beside it) and read by every API process (migration 0019)."""

    __tablename__ = "insight_figures"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    computed_at: datetime = Field(sa_column=_ts(nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))


class ChangeMarks(SQLModel, table=True):
    """A counter per kind of change (``people``, ``feedback``), bumped in the transaction of
    every write of that kind, so a process that remembers such data sees a change made by
    another by reading one small table (:mod:`curation.storage.marks`; migration 0020)."""

    __tablename__ = "change_marks"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    value: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))


class WebSession(SQLModel, table=True):
    """A signed-in browser: the session cookie carries a random token, only its SHA-256 is
    kept. ``ended_at`` is set on sign-out; an ended or expired session never works again."""

    __tablename__ = "web_session"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(sa_column=_ref("person", index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=_ts())


# ---- teams, shares and personal notes (issue 15; migration 0017) ---------------------------


class Team(SQLModel, table=True):
    """A group of people who share what they learn. Admins manage teams and their members."""

    __tablename__ = "team"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class TeamMember(SQLModel, table=True):
    """A person's place in a team: ``role`` is member | lead. A person is in a team once."""

    __tablename__ = "team_member"
    __table_args__ = (
        UniqueConstraint("team_id", "person_id", name="uq_team_member"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(sa_column=_ref("team"))
    person_id: int = Field(sa_column=_ref("person", index=True))
    role: str = Field(default="member", max_length=20)
    added_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Share(SQLModel, table=True):
    """A person passed an item on to one of their teams, with a short note.

    ``(item_id, team_id)`` is unique: an item is shared with a team once, whoever shares it.
    Deleting the sharer keeps the share (teammates' past digests still hold it) but clears
    ``person_id`` and ``note``: it then reads "a former member".
    """

    __tablename__ = "share"
    __table_args__ = (
        UniqueConstraint("item_id", "team_id", name="uq_share_item_team"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(sa_column=_ref("item"))
    team_id: int = Field(sa_column=_ref("team", index=True))
    person_id: int | None = Field(
        default=None, sa_column=_ref("person", ondelete="SET NULL", index=True, nullable=True)
    )
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))


class GemTeam(SQLModel, table=True):
    """A team a curator aimed a gem at (besides, or instead of, interest phrases)."""

    __tablename__ = "gem_team"
    __table_args__ = (UniqueConstraint("gem_id", "team_id", name="uq_gem_team"), IDS_NEVER_REUSED)

    id: int | None = Field(default=None, primary_key=True)
    gem_id: int = Field(sa_column=_ref("gem"))
    team_id: int = Field(sa_column=_ref("team", index=True))


class ItemNote(SQLModel, table=True):
    """A person's own note on an item, part of their portfolio. One per (person, item)."""

    __tablename__ = "item_note"
    __table_args__ = (
        UniqueConstraint("person_id", "item_id", name="uq_item_note"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=_ref("person"))
    item_id: int = Field(sa_column=_ref("item", index=True))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


# ---- page speed (migration 0018) ------------------------------------------------------------


class SourceItemCount(SQLModel, table=True):
    """How many ``item_source`` rows each source has: its item count, read by the sources page
    in one row per source instead of counting an index entry per item.

    The store adds a feed's inserted links in the transaction that inserts them (the only code
    that inserts links; migration 0022), and a trigger on ``item_source`` takes one away per row
    deleted (cascades from a deleted item or source too, whichever code deletes them;
    migration 0018). A separate table, so that rebuilding ``source`` on SQLite (a later
    migration's ``batch_alter_table``) never touches a trigger; a migration that rebuilds
    ``item_source`` must create the delete trigger again (``tests/storage/test_source_counts``
    checks it exists at head and that the counts agree with a recount). No row: no items.
    """

    __tablename__ = "source_item_count"
    __table_args__ = IDS_NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("source.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    item_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
