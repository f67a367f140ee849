"""Helpers for the e-mail tests (no tests here): a real SMTP server in-process, and digests.

:class:`MailServer` runs aiosmtpd on 127.0.0.1 with a free port. Its handler records every
message it accepts and can be told to answer the Nth DATA (or any DATA to an address) with
451, 554, 421, or by dropping the connection mid-transaction. Optionally it speaks implicit TLS
or requires STARTTLS and a login, with a self-signed certificate made by ``openssl``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select, update

from curation.digest.view import DigestView, EntryView, GemView, ItemView, SectionView, SourceRef
from curation.people.records import NewPerson, PersonRecord
from curation.storage.feeds import FeedWrite, Store
from curation.storage.people import PeopleStore
from curation.storage.tables import Digest, Item
from tests.test_store_helpers import clean_item

D = Digest.__table__
NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
SECRET = "test-secret-key-0123456789abcdef"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class Handler:
    """Records accepted messages; ``faults`` maps the Nth DATA (1-based) or a recipient to a
    fault: ``"451"``, ``"554"``, ``"421"``, ``"drop"`` (close before replying), or
    ``"accept-drop"`` (keep the message, then drop: the at-least-once window)."""

    received: list[Received] = field(default_factory=list)
    faults: dict[int | str, str] = field(default_factory=dict)
    data_commands: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self.lock:
            self.data_commands += 1
            fault = self.faults.pop(self.data_commands, None)
            for rcpt in envelope.rcpt_tos:
                fault = fault or self.faults.get(rcpt)
            if fault in (None, "accept-drop"):
                self.received.append(
                    Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
                )
        if fault == "drop" or fault == "accept-drop":
            server.transport.close()
            return "250 never seen"
        if fault == "451":
            return "451 4.3.0 try again later"
        if fault == "554":
            return "554 5.7.1 message refused as spam"
        if fault == "421":
            return "421 4.3.2 shutting down"
        return "250 2.0.0 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, password))
            ok = login == "digest" and password == "p@ss:w/rd"
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    def by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.received:
            for rcpt in r.rcpt_tos:
                counts[rcpt] = counts.get(rcpt, 0) + 1
        return counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    def __init__(
        self, *, port: int | None = None, login: bool = False, **smtp_options: object
    ) -> None:
        self.handler = Handler()
        self.port = port or free_port()
        if login:  # AUTH PLAIN/LOGIN, only after STARTTLS; the handler checks the password
            smtp_options.update(authenticator=self.handler.authenticate, auth_require_tls=True)
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **smtp_options
        )

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def self_signed_cert(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 and its key, or None without the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


# ---- data ---------------------------------------------------------------------------------------


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
