"""E-mail benchmark: render and send N digests to a local SMTP server, against the ceiling.

The server is aiosmtpd in another process (so it does not share our GIL), counting what it
accepts. In the same run, each of these is timed --runs times and the medians printed:

- render only: ``render_digest`` + serialisation, no network;
- the ceiling: plain ``smtplib`` sending the same messages pre-rendered to bytes, one
  connection (what the transport could reach if rendering were free);
- our path: ``render_digest`` + ``SMTPTransport.send``, one connection reused;
- with --db: the whole exactly-once loop, ``deliver_pending`` over a SQLite file (claim,
  render, send, mark sent), i.e. what ``curation digests send`` does.

    python bench/email.py --digests 10000 --items 8 --runs 3 --db
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named email.py: take its folder off the import path before anything imports the
# standard library's ``email`` package, and put the project root on it instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import smtplib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from bench import free_port, make_parser  # noqa: E402
from curation.digest.view import (  # noqa: E402
    DigestView,
    EntryView,
    GemView,
    ItemView,
    SectionView,
    SourceRef,
)
from curation.mail.render import render_digest  # noqa: E402
from curation.mail.transport import SMTPTransport, message_bytes  # noqa: E402
from curation.people.records import PersonRecord

NOW = datetime(2026, 11, 2, 7, tzinfo=UTC)
SECRET = "bench-secret-key-0123456789abcdef"
SENDER = "digest@localhost"
COUNT_RCPT = "count@bench.invalid"
WORDS = [
    "learning",
    "analytics",
    "feedback",
    "assessment",
    "rubric",
    "cohort",
    "retention",
    "tutoring",
]


# ---- the server (child process) ------------------------------------------------------------------


def serve(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        accepted = 0

        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
            if envelope.rcpt_tos == [COUNT_RCPT]:
                return f"250 {self.accepted}"
            self.accepted += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        controller.stop()


def person_rows(pairs) -> list[dict]:  # noqa: ANN001
    """The person rows of synthetic (view, person) pairs, as the bench databases store them."""
    return [
        {"id": p.id, "email": p.email, "name": p.name, "role": "learner",
         "timezone": "UTC", "digest_hour": 7, "email_digests": True, "created_at": NOW}
        for _, p in pairs
    ]  # fmt: skip


def accepted(port: int) -> int:
    conn = smtplib.SMTP("127.0.0.1", port, local_hostname="localhost")
    try:
        conn.ehlo()
        conn.mail(SENDER)
        conn.rcpt(COUNT_RCPT)
        code, reply = conn.data(b"Subject: count\r\n\r\ncount\r\n")
        return int(reply.decode())
    finally:
        conn.quit()


# ---- data ----------------------------------------------------------------------------------------


def synthetic(n: int, items: int) -> list[tuple[DigestView, PersonRecord]]:
    pairs = []
    for d in range(n):
        entries = []
        for k in range(items):
            item_id = d * items + k + 1
            topic = " ".join(WORDS[(d + k + j) % len(WORDS)] for j in range(3))
            entries.append(
                EntryView(
                    item=ItemView(
                        id=item_id,
                        title=f"How {topic} changes the classroom & what to do — part {k}",
                        url=f"https://news.example.org/{item_id}",
                        summary="<p>summary</p>",
                        excerpt=f"A study of {topic}. " * 8,
                        published_at=NOW - timedelta(hours=k),
                        source=SourceRef(k, f"Example Source {k}"),
                    ),
                    score=1.0 / (k + 1),
                    why=f"matches your interest '{WORDS[d % len(WORDS)]}' (shared: {topic})",
                    gem=GemView(item_id, "Read the method section first.", "Grace")
                    if k == 0
                    else None,
                )
            )
        view = DigestView(
            id=d + 1,
            person_id=d + 1,
            date="2026-11-02",
            created_at=NOW,
            sections=(
                SectionView("for_you", "For you", tuple(entries[1:])),
                SectionView("gems", "Gems from curators", tuple(entries[:1])),
            ),
        )
        person = PersonRecord(
            id=d + 1,
            email=f"person{d + 1}@example.org",
            name=f"Person Nº{d + 1}",
            role="learner",
            timezone="UTC",
            digest_hour=7,
            email_digests=True,
            created_at=NOW,
        )
        pairs.append((view, person))
    return pairs


def render(view: DigestView, person: PersonRecord):  # noqa: ANN201
    return render_digest(
        view, person, base_url="https://curation.example.org", token_secret=SECRET, now=NOW
    )


# ---- the contenders ------------------------------------------------------------------------------


def render_only(pairs) -> tuple[float, list[bytes]]:  # noqa: ANN001
    t0 = time.perf_counter()
    raws = [message_bytes(render(v, p)) for v, p in pairs]
    return time.perf_counter() - t0, raws


def plain_smtplib(port: int, pairs, raws: list[bytes]) -> float:  # noqa: ANN001
    conn = smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=30)
    t0 = time.perf_counter()
    for (_, person), raw in zip(pairs, raws, strict=True):
        conn.sendmail(SENDER, [person.email], raw)
    elapsed = time.perf_counter() - t0
    conn.quit()
    return elapsed


def our_path(port: int, pairs) -> float:  # noqa: ANN001
    with SMTPTransport(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=30) as transport:
        t0 = time.perf_counter()
        for view, person in pairs:
            transport.send(render(view, person), to=person.email, key=f"digest-{view.id}")
        return time.perf_counter() - t0


class DeliverLoop:
    """``deliver_pending`` over a SQLite file holding the same digests as rows."""

    def __init__(self, workdir: Path, pairs) -> None:  # noqa: ANN001
        from sqlalchemy import insert

        from curation.settings import Settings
        from curation.storage.engine import make_engine, upgrade
        from curation.storage.tables import Digest, Person

        self.settings = Settings(
            database_url=f"sqlite:///{workdir / 'bench-email.db'}", secret_key=SECRET
        )
        upgrade(self.settings.database_url)
        self.engine = make_engine(self.settings.database_url)
        self.table = Digest.__table__
        with self.engine.begin() as conn:
            conn.execute(insert(Person.__table__), person_rows(pairs))
            conn.execute(
                insert(self.table),
                [
                    {"id": v.id, "person_id": v.person_id, "day": v.date,
                     "window_start": NOW - timedelta(days=1), "window_end": NOW,
                     "created_at": NOW, "item_count": v.item_count, "payload": v.to_json(),
                     "email_status": "pending", "email_attempts": 0}
                    for v, _ in pairs
                ],
            )  # fmt: skip

    def __call__(self, port: int) -> tuple[float, int]:
        from sqlalchemy import update

        from curation.mail.deliver import deliver_pending

        with self.engine.begin() as conn:
            conn.execute(
                update(self.table).values(
                    email_status="pending", email_attempts=0, email_sent_at=None
                )
            )
        with SMTPTransport(f"smtp://127.0.0.1:{port}", sender=SENDER, timeout=30) as transport:
            t0 = time.perf_counter()
            report = deliver_pending(
                self.engine, self.settings, transport=transport, now=NOW, render=render
            )
            return time.perf_counter() - t0, report.sent


# ---- main ----------------------------------------------------------------------------------------


def median_rate(n: int, seconds: list[float]) -> float:
    return n / statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__, digests=10_000, items=8)
    parser.add_argument("--db", action="store_true", help="also time deliver_pending on SQLite")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0

    n = args.digests
    pairs = synthetic(n, args.items)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        times: dict[str, list[float]] = {"render": [], "smtplib": [], "ours": [], "deliver": []}
        size = 0
        with tempfile.TemporaryDirectory() as tmp:
            loop = DeliverLoop(Path(tmp), pairs) if args.db else None
            for run in range(args.runs):
                elapsed, raws = render_only(pairs)
                times["render"].append(elapsed)
                size = sum(map(len, raws)) // len(raws)
                before = accepted(port)
                times["smtplib"].append(plain_smtplib(port, pairs, raws))
                times["ours"].append(our_path(port, pairs))
                if loop is not None:
                    elapsed, sent = loop(port)
                    assert sent == n, f"deliver_pending sent {sent} of {n}"
                    times["deliver"].append(elapsed)
                got = accepted(port) - before
                expected = n * (3 if loop else 2)
                assert got == expected, f"server accepted {got}, expected {expected}"
                print(f"run {run + 1}: " + ", ".join(
                    f"{k} {n / v[-1]:,.0f}/s" for k, v in times.items() if v
                ), file=sys.stderr)  # fmt: skip
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)

    ceiling = median_rate(n, times["smtplib"])
    ours = median_rate(n, times["ours"])
    print(
        f"{n:,} digests × {args.items} items (~{size / 1024:.1f} KiB each), "
        f"medians of {args.runs} runs; aiosmtpd in another process, one connection each"
    )
    print(f"  render only (no network)           {median_rate(n, times['render']):8,.0f} digests/s")
    print(f"  plain smtplib, pre-rendered bytes  {ceiling:8,.0f} digests/s  (the ceiling)")
    print(f"  render + SMTPTransport             {ours:8,.0f} digests/s  ({ours / ceiling:.2f}×)")
    if times["deliver"]:
        rate = median_rate(n, times["deliver"])
        print(
            f"  deliver_pending (SQLite, claim/mark) {rate:6,.0f} digests/s  ({rate / ceiling:.2f}×)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
