"""Digests for the e-mail tests: views built by hand (no database), and digest rows recorded
on a real database as the builder records them, with the items and people they name."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from sqlalchemy import Engine, select, update

from curation.digest.view import DigestView, EntryView, GemView, ItemView, SectionView, SourceRef
from curation.people.records import NewPerson, PersonRecord
from curation.settings import Settings
from curation.storage.feeds import FeedWrite, Store
from curation.storage.people import PeopleStore
from curation.storage.tables import Digest, Item
from tests.helpers.people import person_record
from tests.helpers.settings import settings_for
from tests.helpers.store import clean_item

D = Digest.__table__
NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
SECRET = "test-secret-key-0123456789abcdef"
LINK_BASE = "http://testserver"  # where e-mail links point: the host of FastAPI's TestClient


# ---- views (no database) ------------------------------------------------------------------------


def person(name: str = "Ada Lovelace", email: str = "ada@example.org") -> PersonRecord:
    """The reader of the hand-built digests (person 7)."""
    return person_record(7, email=email, name=name, created_at=NOW)


def entry(item_id: int, title: str, *, url: str | None = None, gem: GemView | None = None):
    return EntryView(
        item=ItemView(
            id=item_id,
            title=title,
            url=url if url is not None else f"https://example.org/{item_id}",
            summary="<p>s</p>",
            excerpt=f"Excerpt of {item_id} & more",
            published_at=NOW,
            source=SourceRef(1, "Example <Feed>"),
        ),
        score=0.4,
        why=f"because of <interest {item_id}>",
        gem=gem,
    )


def digest(*entries: EntryView, gems: tuple[EntryView, ...] = ()) -> DigestView:
    return DigestView(
        id=42,
        person_id=7,
        date="2026-11-02",
        created_at=NOW,
        sections=(SectionView("for_you", "For you", entries), SectionView("gems", "Gems", gems)),
    )


SAMPLE = digest(
    entry(1, "Plain title"),
    entry(2, "<script>alert('x')</script> & friends"),
    gems=(entry(3, "A gem", gem=GemView(9, "Read the <second> half first", "Grace")),),
)


# ---- recorded on a database ------------------------------------------------------------------


def add_items(store: Store, titles: list[str]) -> list[int]:
    """Store items with these titles (one source) and return their ids in order."""
    source = store.add_source(f"https://feed.example.org/{len(titles)}/rss", title="Example Feed")
    items = [clean_item(f"k{n}", title=t, text=f"text of {t}") for n, t in enumerate(titles)]
    store.save_feeds([FeedWrite(source.id, items)], now=NOW, next_attempt_at=NOW)
    with store.engine.connect() as conn:
        rows = dict(conn.execute(select(Item.dedupe_key, Item.id)).all())
    return [rows[f"https://example.org/k{n}"] for n in range(len(titles))]


def add_person(people: PeopleStore, n: int, name: str | None = None) -> PersonRecord:
    person, _ = people.create(NewPerson(email=f"p{n}@example.org", name=name or f"Person {n}"))
    return person


def record_digest(
    engine: Engine,
    person: PersonRecord,
    items: list[tuple[int, str]],
    *,
    day: str = "2026-11-02",
    gem_note: str | None = "Start with this one.",
    why: str = "matches your interest in testing",
    status: str = "pending",
) -> DigestView:
    """A digest row as the builder records it (``pending``), its payload a DigestView."""
    source = SourceRef(1, "Example Feed")
    entries = [
        EntryView(
            item=ItemView(
                id=item_id,
                title=title,
                url=f"https://example.org/{item_id}",
                summary="<p>summary</p>",
                excerpt=f"About {title}.",
                published_at=NOW - timedelta(hours=3),
                source=source,
            ),
            score=0.5,
            why=f"{why} ({title})",
            gem=GemView(90 + item_id, gem_note, "Grace") if gem_note and n == 0 else None,
        )
        for n, (item_id, title) in enumerate(items)
    ]
    gems = tuple(e for e in entries if e.gem)
    for_you = tuple(e for e in entries if not e.gem)
    with engine.begin() as conn:
        digest_id = conn.execute(
            D.insert()
            .values(
                person_id=person.id,
                day=day,
                window_start=NOW - timedelta(days=1),
                window_end=NOW,
                created_at=NOW,
                item_count=len(entries),
                payload="{}",
                email_status=status,
                email_attempts=0,
            )
            .returning(D.c.id)
        ).scalar_one()
        view = DigestView(
            id=digest_id,
            person_id=person.id,
            date=day,
            created_at=NOW,
            sections=(
                SectionView("for_you", "For you", for_you),
                SectionView("gems", "Gems from curators", gems),
            ),
        )
        conn.execute(update(D).where(D.c.id == digest_id).values(payload=view.to_json()))
    return view


def digest_rows(engine: Engine) -> dict[int, dict]:
    with engine.connect() as conn:
        return {r.id: r._asdict() for r in conn.execute(select(D).order_by(D.c.id))}


# ---- links in e-mails ---------------------------------------------------------------------------


def link_settings(engine: Engine, **overrides: object) -> Settings:
    """Settings on this engine's database whose e-mail links are signed with :data:`SECRET` and
    point at :data:`LINK_BASE`, so that a TestClient can follow them."""
    return settings_for(engine, secret_key=SECRET, public_base_url=LINK_BASE, **overrides)


def email_links(message: EmailMessage, kind: str) -> list[str]:
    """The links to the service's e-mail endpoints in the message's HTML part that contain
    ``kind`` (e.g. ``"feedback"``, ``"unsubscribe"``), unescaped."""
    body = message.get_body(("html",)).get_content()
    found = re.findall(rf'href="({re.escape(LINK_BASE)}/v1/email/[^"]+)"', body)
    return [html.unescape(u) for u in found if kind in u]


def path_of(url: str) -> str:
    """The path and query of a link to :data:`LINK_BASE`, as a TestClient request takes them."""
    parts = urlsplit(url)
    assert parts.netloc == urlsplit(LINK_BASE).netloc
    return f"{parts.path}?{parts.query}"
