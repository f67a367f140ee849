"""Chat and xAPI channels benchmark: N recorded digests posted to Slack / Teams webhook
receivers by ``deliver_channels`` and sent as xAPI statements to an LRS receiver by the
``curation xapi flush`` path, against the e-mail path (``deliver_pending`` to aiosmtpd) in the
same run; medians of --runs.

The digests are recorded as the product records them (``DigestRows.record_many``: the
``digest`` row, one ``digest_item`` row per pick, the stored DigestView), over real ``item``
rows. Each leg runs the product's whole loop over the same SQLite file:

- chat: record, claim, render from the stored DigestView, POST, mark sent;
- xAPI: ``XapiService.run`` (what ``curation xapi flush`` calls): collect the ``received``
  statements from ``digest_item`` into the outbox, claim batches of ``CURATION_XAPI_BATCH_SIZE``,
  POST them with basic auth, mark sent (outbox and watermarks emptied before each run);
- e-mail: claim, render, send over one SMTP connection, mark sent.

The receivers run in processes of their own and count what they accept: a webhook receiver
(aiohttp; half the people have a Slack channel, half a Teams one), an xAPI receiver (aiohttp,
``POST /xAPI/statements`` answered 200 after checking the basic auth, counting statements and
their distinct ids) and the SMTP server (aiosmtpd); each run checks that every digest (every
statement) arrived once. The xAPI receiver stands in for an LRS: Ralph (the LRS the tests run,
tests/helpers/ralph_server.py) takes seconds to start and writes every statement to its file
backend, so it would measure Ralph rather than our outbox.

    python bench/channels.py --digests 10000 --items 8 --runs 3
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py shadows the standard library's ``email``: take this folder off the import path
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from datetime import timedelta  # noqa: E402

from sqlalchemy import delete, insert, update  # noqa: E402

from bench import free_port, make_parser  # noqa: E402
from bench.email import NOW, SECRET, SENDER, accepted, person_rows, synthetic  # noqa: E402


def serve_hooks(port: int) -> None:
    """A webhook receiver answering 200 "ok" to every POST; GET /count: how many it took."""
    from aiohttp import web

    count = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal count
        await request.read()
        count += 1
        return web.Response(text="ok")

    async def counted(request: web.Request) -> web.Response:
        return web.Response(text=str(count))

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    app.router.add_get("/count", counted)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


LRS_USER, LRS_PASSWORD = "bench", "bench-password"


def serve_lrs(port: int) -> None:
    """An xAPI receiver: ``POST /xAPI/statements`` (basic auth checked) answers 200 with the
    ids; GET /count: "statements distinct-ids" taken so far."""
    import base64

    from aiohttp import web

    expected = "Basic " + base64.b64encode(f"{LRS_USER}:{LRS_PASSWORD}".encode()).decode()
    count = 0
    ids: set[str] = set()

    async def statements(request: web.Request) -> web.Response:
        nonlocal count
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401)
        batch = await request.json()
        count += len(batch)
        ids.update(s["id"] for s in batch)
        return web.json_response([s["id"] for s in batch])

    async def counted(request: web.Request) -> web.Response:
        return web.Response(text=f"{count} {len(ids)}")

    app = web.Application(client_max_size=64 * 1024**2)
    app.router.add_post("/xAPI/statements", statements)
    app.router.add_get("/count", counted)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def lrs_count(port: int) -> tuple[int, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=10) as answer:  # noqa: S310
        total, distinct = answer.read().split()
    return int(total), int(distinct)


def hook_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=10) as answer:  # noqa: S310
        return int(answer.read())


class Loops:
    """One SQLite file with N people, their items, their recorded digests (with their
    ``digest_item`` rows) and one webhook channel each."""

    def __init__(self, workdir: Path, pairs, hook_port: int, lrs_port: int) -> None:  # noqa: ANN001
        from curation.channels.cadence import days_mask
        from curation.channels.sealing import UrlSeal
        from curation.settings import Settings
        from curation.storage.engine import make_engine, upgrade
        from curation.storage.tables import (
            Channel,
            ChannelDelivery,
            Digest,
            Item,
            Person,
            XapiOutbox,
            XapiWatermark,
        )

        self.settings = Settings(
            database_url=f"sqlite:///{workdir / 'bench-channels.db'}",
            secret_key=SECRET,
            fetch_allow_hosts="127.0.0.1",
            outbox_dir=str(workdir / "outbox"),
            xapi_url=f"http://127.0.0.1:{lrs_port}/xAPI",
            xapi_user=LRS_USER,
            xapi_password=LRS_PASSWORD,
        )
        upgrade(self.settings.database_url)
        self.engine = make_engine(self.settings.database_url)
        self.digests, self.deliveries = Digest.__table__, ChannelDelivery.__table__
        self.xapi_tables = (XapiOutbox.__table__, XapiWatermark.__table__)
        with self.engine.begin() as conn:
            conn.execute(insert(Person.__table__), person_rows(pairs))
            conn.execute(
                insert(Item.__table__),
                [
                    {"id": e.item.id, "dedupe_key": f"bench:{e.item.id}", "url": e.item.url,
                     "title": e.item.title, "summary_html": e.item.summary, "content_html": "",
                     "text": e.item.excerpt, "content_hash": "0" * 64,
                     "published_at": e.item.published_at, "first_seen_at": NOW}
                    for v, _ in pairs
                    for s in v.sections
                    for e in s.items
                ],
            )  # fmt: skip
        self.record(pairs)
        with self.engine.begin() as conn:
            kinds = ("slack", "teams")
            seal = UrlSeal(lambda: SECRET)  # stored sealed, as the API stores them
            conn.execute(
                insert(Channel.__table__),
                [
                    {"person_id": p.id, "kind": kinds[p.id % 2],
                     "url": seal.seal(f"http://127.0.0.1:{hook_port}/{kinds[p.id % 2]}/T{p.id}/B/s"),
                     "cadence": "daily", "weekday": None, "days": days_mask("daily", None),
                     "created_at": NOW - timedelta(hours=1)}
                    for _, p in pairs
                ],
            )  # fmt: skip

    def record(self, pairs) -> None:  # noqa: ANN001
        """Record the digests as the digest service does: ``record_many`` writes each
        ``digest`` row, its ``digest_item`` rows (one per pick, in order) and the stored view."""
        from dataclasses import replace

        from curation.storage.digests import DigestRows, NewDigest, PickRow

        views = {v.person_id: v for v, _ in pairs}
        digests = [
            NewDigest(
                person_id=v.person_id,
                day=v.date,
                window_start=NOW - timedelta(days=1),
                picks=[PickRow(e.item.id, s.key, e.score) for s in v.sections for e in s.items],
            )
            for v, _ in pairs
        ]
        recorded = DigestRows(self.engine).record_many(
            digests,
            now=NOW,
            payload=lambda d, digest_id: replace(views[d.person_id], id=digest_id).to_json(),
        )
        assert len(recorded) == len(pairs), "not every digest was recorded"

    def xapi(self) -> tuple[float, int]:
        from curation.storage.xapi import XapiStore
        from curation.xapi.service import XapiService

        with self.engine.begin() as conn:
            for table in self.xapi_tables:
                conn.execute(delete(table))
        service = XapiService(self.settings, XapiStore(self.engine))
        t0 = time.perf_counter()
        run = service.run(NOW)  # what ``curation xapi flush`` does
        elapsed = time.perf_counter() - t0
        assert run.flushed is not None and run.flushed.failed == 0, run.line()
        assert run.pending == 0, run.line()
        return elapsed, run.flushed.sent

    def chat(self) -> tuple[float, int]:
        from curation.channels.deliver import deliver_channels

        with self.engine.begin() as conn:
            conn.execute(delete(self.deliveries))
        t0 = time.perf_counter()
        report = deliver_channels(self.engine, self.settings, NOW)
        return time.perf_counter() - t0, report.sent

    def email(self, smtp_port: int) -> tuple[float, int]:
        from curation.mail.deliver import deliver_pending
        from curation.mail.transport import SMTPTransport

        with self.engine.begin() as conn:
            conn.execute(
                update(self.digests).values(
                    email_status="pending", email_attempts=0, email_sent_at=None
                )
            )
        url = f"smtp://127.0.0.1:{smtp_port}"
        with SMTPTransport(url, sender=SENDER, timeout=30) as transport:
            t0 = time.perf_counter()
            report = deliver_pending(self.engine, self.settings, transport=transport, now=NOW)
            return time.perf_counter() - t0, report.sent


def start(args: list[str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(__doc__, digests=10_000, items=8)
    parser.add_argument("--serve-hooks", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-lrs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_hooks:
        serve_hooks(args.serve_hooks)
        return 0
    if args.serve_lrs:
        serve_lrs(args.serve_lrs)
        return 0

    n = args.digests
    statements = n * args.items  # one "received" statement per item of each digest
    pairs = synthetic(n, args.items)
    hook_port, lrs_port, smtp_port = free_port(), free_port(), free_port()
    hooks = start([__file__, "--serve-hooks", str(hook_port)])
    lrs = start([__file__, "--serve-lrs", str(lrs_port)])
    smtp = start([str(HERE / "email.py"), "--serve", str(smtp_port)])
    times: dict[str, list[float]] = {"chat": [], "xapi": [], "email": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            loops = Loops(Path(tmp), pairs, hook_port, lrs_port)
            time.sleep(0.5)  # the receivers' loops are up once they printed "ready" and ran
            for run in range(args.runs):
                before = hook_count(hook_port)
                elapsed, sent = loops.chat()
                got = hook_count(hook_port) - before
                assert sent == n and got == n, f"chat: {sent} marked sent, {got} received of {n}"
                times["chat"].append(elapsed)
                before, _ = lrs_count(lrs_port)
                elapsed, sent = loops.xapi()
                total, distinct = lrs_count(lrs_port)
                got = total - before
                assert sent == statements and got == statements and distinct == statements, (
                    f"xAPI: {sent} marked sent, {got} received ({distinct} distinct ids)"
                    f" of {statements}"
                )
                times["xapi"].append(elapsed)
                before = accepted(smtp_port)
                elapsed, sent = loops.email(smtp_port)
                got = accepted(smtp_port) - before
                assert sent == n and got == n, f"e-mail: {sent} marked sent, {got} received of {n}"
                times["email"].append(elapsed)
                print(
                    f"run {run + 1}: chat {n / times['chat'][-1]:,.0f}/s,"
                    f" xAPI {n / times['xapi'][-1]:,.0f} digests/s,"
                    f" e-mail {n / times['email'][-1]:,.0f}/s",
                    file=sys.stderr,
                )
    finally:
        for process in (hooks, lrs, smtp):
            if process.stdin:
                process.stdin.close()
        smtp.wait(timeout=30)
        for process in (hooks, lrs):
            process.terminate()
            process.wait(timeout=30)

    chat = n / statistics.median(times["chat"])
    xapi = n / statistics.median(times["xapi"])
    both = n / (statistics.median(times["chat"]) + statistics.median(times["xapi"]))
    mail = n / statistics.median(times["email"])
    batch = loops.settings.xapi_batch_size
    print(
        f"{n:,} digests × {args.items} items, medians of {args.runs} runs; receivers in other"
        " processes on loopback, SQLite"
    )
    rows = [
        ("deliver_channels → webhooks (Slack/Teams)", f"{chat:8,.0f} digests/s"),
        (
            f"xapi flush → xAPI receiver ({batch}/POST)",
            f"{xapi:8,.0f} digests/s ({xapi * args.items:,.0f} statements/s)",
        ),
        ("webhook + xAPI, one after the other", f"{both:8,.0f} digests/s"),
        ("deliver_pending → SMTP (aiosmtpd)", f"{mail:8,.0f} digests/s"),
        ("chat / e-mail", f"{chat / mail:8.2f}×"),
        ("xAPI / e-mail", f"{xapi / mail:8.2f}×"),
        ("webhook + xAPI / e-mail", f"{both / mail:8.2f}×"),
    ]
    for label, value in rows:
        print(f"  {label:<44}{value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
