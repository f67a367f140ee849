"""The ``curation`` command line: database, sources and ingest.

Every command builds its settings from the environment (``CURATION_*``) and prints plain text;
errors from the domain are printed as one line and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from curation.channels.deliver import deliver_channels
from curation.cli import people as cli_people
from curation.cli import teams as cli_teams
from curation.cli import worker as cli_worker
from curation.cli import xapi as cli_xapi
from curation.errors import CurationError
from curation.ingest.netpolicy import mask_credentials
from curation.ingest.pipeline import IngestSummary, SourceOutcome
from curation.logs import configure_logging
from curation.services import Curation, make_curation
from curation.settings import PREFIX, Settings, get_settings
from curation.storage.engine import upgrade


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings.database_url, args.revision)
    print(f"database at {settings.database_url} is at revision {args.revision}")
    from curation.jobs.connector import ensure_schema, is_postgres

    if is_postgres(settings.database_url) and ensure_schema(settings):
        print("job queue tables (procrastinate) created")
    return 0


def cmd_sources_import(args: argparse.Namespace, settings: Settings) -> int:
    curation = make_curation(settings)
    if args.if_empty and curation.store.list_sources():
        print("sources already configured: nothing imported")
        return 0
    report = curation.sources.import_opml(Path(args.file).read_bytes())
    print(f"{report.line()} from {args.file}")
    for skipped in report.skipped:
        where = f"line {skipped.line}: " if skipped.line else ""
        url = f" ({skipped.url})" if skipped.url else ""
        print(f"  skipped {where}{skipped.reason}{url}", file=sys.stderr)
    return 0


def cmd_sources_export(args: argparse.Namespace, settings: Settings) -> int:
    text = make_curation(settings).sources.export_opml()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"exported to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    added = make_curation(settings).sources.add(
        args.url, title=args.title, category=args.category, check=not args.no_check
    )
    src, found = added.source, added.check
    title = f' "{src.title}"' if src.title else ""
    if found is None:
        print(f"added source {src.id} without a check: {mask_credentials(src.url)}{title}")
        return 0
    print(
        f"added source {src.id}: {mask_credentials(src.url)}{title}"
        f" ({found.version}, {found.entries} entries)"
    )
    if found.page_url:
        print(f"  found on the web page {mask_credentials(found.page_url)}")
    for other in found.others:
        print(f"  another feed on that page (not added): {mask_credentials(other)}")
    return 0


def cmd_sources_set(args: argparse.Namespace, settings: Settings) -> int:
    if args.title is None and args.category is None and args.active is None:
        nothing = "error: nothing to change: give --title, --category, --pause or --resume"
        print(nothing, file=sys.stderr)
        return 2
    src = make_curation(settings).sources.update(
        args.source_id, title=args.title, category=args.category, active=args.active
    )
    state = "active" if src.active else "paused"
    when = f", next poll {_when(src.next_attempt_at)}" if src.active else ""
    print(f"source {src.id} ({state}{when}): {mask_credentials(src.url)}")
    print(f'  title "{src.title or ""}", category "{src.category or ""}"')
    return 0


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "now"


def _source_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"not a source id: {text!r}")
    return int(text)


def cmd_sources_list(args: argparse.Namespace, settings: Settings) -> int:
    sources = make_curation(settings).store.list_sources()
    for s in sources:
        when = s.last_fetched_at.strftime("%Y-%m-%d %H:%M") if s.last_fetched_at else "never"
        url = mask_credentials(s.url)
        line = f"{s.id:>5}  {s.status:<12} {s.item_count:>6} items  {when:<16}  {url}"
        if not s.active:
            line += "  [paused]"
        if s.last_error:
            line += f"\n       last error ({s.error_count}×): {mask_credentials(s.last_error)}"
        if s.warning:
            line += f"\n       warning: {mask_credentials(s.warning)}"
        print(line)
    print(f"{len(sources)} sources")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    curation = make_curation(settings)
    if sys.stderr.isatty() and not args.quiet:
        summary = _ingest_with_progress(curation, every_source=args.all)
    else:
        summary = curation.ingest(every_source=args.all)
    if args.verbose:
        for o in summary.outcomes:
            if o.error:
                print(f"  failed {o.url}: {o.error}")
    print(summary.line())
    return 0


def _ingest_with_progress(curation: Curation, *, every_source: bool) -> IngestSummary:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def started(total: int) -> None:
            bar.update(task, total=total)

        def advance(outcome: SourceOutcome) -> None:
            bar.update(task, advance=1, description=outcome.url[:60])

        return curation.ingest(on_progress=advance, on_start=started, every_source=every_source)


def cmd_rank_fit(args: argparse.Namespace, settings: Settings) -> int:
    fitted = make_curation(settings).refit()
    print("ranking model fitted" if fitted else "no items in the window: nothing to fit")
    return 0


def cmd_digests_send(args: argparse.Namespace, settings: Settings) -> int:
    curation = make_curation(settings)
    print(curation.run_digests().line())
    print(f"chat: {deliver_channels(curation.engine, settings).line()}")  # Slack / Teams
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from curation.cli.serve import serve, serve_processes

    host = args.host or settings.api_host
    port = args.port or settings.api_port
    workers = args.workers or settings.api_workers
    scheduler = args.command == "run"
    # links in e-mails point where the service really listens, unless CURATION_PUBLIC_BASE_URL
    settings = settings.model_copy(update={"api_host": host, "api_port": port})
    print(f"curation: serving http://{host}:{port} (API docs at /docs); Ctrl-C to stop")
    print(f"curation: links in e-mails point to {settings.base_url}")
    if workers > 1:
        print(f"curation: {workers} API processes", flush=True)
        serve_processes(settings, host=host, port=port, workers=workers, scheduler=scheduler)
    else:
        asyncio.run(serve(settings, host=host, port=port, scheduler=scheduler))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="curation", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    up = db.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    src = sub.add_parser("sources", help="feed sources").add_subparsers(
        dest="sources_command", required=True
    )
    imp = src.add_parser("import", help="import sources from an OPML file")
    imp.add_argument("file")
    imp.add_argument("--if-empty", action="store_true", help="only when no source exists yet")
    imp.set_defaults(func=cmd_sources_import)
    exp = src.add_parser("export", help="export sources as OPML")
    exp.add_argument("-o", "--output")
    exp.set_defaults(func=cmd_sources_export)
    add = src.add_parser(
        "add",
        help="add one source: a feed URL, or a web page that links to one (fetched and checked)",
    )
    add.add_argument("url")
    add.add_argument("--title", help="default: the feed's own title")
    add.add_argument("--category", help="slash-separated path, e.g. Technology/Python")
    add.add_argument(
        "--no-check", action="store_true", help="add without fetching (e.g. a feed down for now)"
    )
    add.set_defaults(func=cmd_sources_add)
    chg = src.add_parser("set", help="rename, recategorise, pause or resume a source")
    chg.add_argument("source_id", metavar="ID", type=_source_id)
    chg.add_argument("--title", help='new title ("" clears it: the feed\'s own is used)')
    chg.add_argument("--category", help='new slash-separated category ("" clears it)')
    state = chg.add_mutually_exclusive_group()
    state.add_argument(
        "--pause", dest="active", action="store_const", const=False, help="never poll it"
    )
    state.add_argument(
        "--resume", dest="active", action="store_const", const=True, help="poll it again, now"
    )
    chg.set_defaults(func=cmd_sources_set, active=None)
    lst = src.add_parser("list", help="list sources with their health")
    lst.set_defaults(func=cmd_sources_list)

    ing = sub.add_parser(
        "ingest", help="run one ingest cycle over all due sources, then keep the ranker current"
    )
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    ing.add_argument("-v", "--verbose", action="store_true", help="list failed sources")
    ing.add_argument(
        "--all", action="store_true", help="poll every active source now, whatever its schedule"
    )
    ing.set_defaults(func=cmd_ingest)
    cli_people.register(sub)
    cli_teams.register(sub)

    rank = sub.add_parser("rank", help="ranking model").add_subparsers(
        dest="rank_command", required=True
    )
    fit = rank.add_parser("fit", help="fit the ranking model on the recent window")
    fit.set_defaults(func=cmd_rank_fit)

    dig = sub.add_parser("digests", help="digests").add_subparsers(
        dest="digests_command", required=True
    )
    send = dig.add_parser("send", help="build and send every digest due now (safe to rerun)")
    send.set_defaults(func=cmd_digests_send)

    run = sub.add_parser("run", help="serve the API and run ingest and digests on a schedule")
    api_only = sub.add_parser(
        "serve", help="serve the API only (the periodic work is done by `curation worker`)"
    )
    for serving in (run, api_only):
        serving.add_argument("--host", help="default: CURATION_API_HOST (127.0.0.1)")
        serving.add_argument("--port", type=int, help="default: CURATION_API_PORT (8000)")
        serving.add_argument(
            "--workers", type=int, help="API processes (default: CURATION_API_WORKERS, 1)"
        )
        serving.set_defaults(func=cmd_run)
    cli_worker.register(sub)
    cli_xapi.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        configure_logging(settings)
        return args.func(args, settings)
    except CurationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # a CURATION_* variable out of range: say which, plainly
        for error in exc.errors():
            name = PREFIX + "_".join(str(p) for p in error["loc"]).upper()
            print(f"error: {name}: {error['msg']}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
