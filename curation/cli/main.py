"""The ``curation`` command line: database, sources and ingest.

Every command builds its settings from the environment (``CURATION_*``) and prints plain text;
errors from the domain are printed as one line and exit with status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from curation.cli import people as cli_people
from curation.errors import CurationError
from curation.ingest.opml import export_opml, read_opml
from curation.ingest.pipeline import IngestSummary, SourceOutcome, ingest
from curation.settings import Settings, get_settings
from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import Store


def _store(settings: Settings) -> Store:
    return Store(make_engine(settings.database_url))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings.database_url, args.revision)
    print(f"database at {settings.database_url} is at revision {args.revision}")
    return 0


def cmd_sources_import(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    if args.if_empty and store.list_sources():
        print("sources already configured: nothing imported")
        return 0
    found = read_opml(Path(args.file).read_bytes())
    added, present = store.import_sources(found.sources)
    print(f"imported {added} new sources ({present} already present) from {args.file}")
    for problem in found.problems:
        where = f"line {problem.line}: " if problem.line else ""
        print(f"  skipped {where}{problem.reason}", file=sys.stderr)
    return 0


def cmd_sources_export(args: argparse.Namespace, settings: Settings) -> int:
    text = export_opml(_store(settings).export_sources())
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"exported to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    from curation.ingest.netpolicy import AddressPolicy

    AddressPolicy.from_setting(settings.fetch_allow_hosts).check_url(args.url)
    src = _store(settings).add_source(args.url, title=args.title, category=args.category)
    print(f"added source {src.id}: {src.url}")
    return 0


def cmd_sources_list(args: argparse.Namespace, settings: Settings) -> int:
    sources = _store(settings).list_sources()
    for s in sources:
        when = s.last_fetched_at.strftime("%Y-%m-%d %H:%M") if s.last_fetched_at else "never"
        line = f"{s.id:>5}  {s.status:<12} {s.item_count:>6} items  {when:<16}  {s.url}"
        if s.last_error:
            line += f"\n       last error ({s.error_count}×): {s.last_error}"
        print(line)
    print(f"{len(sources)} sources")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    if sys.stderr.isatty() and not args.quiet:
        summary = _ingest_with_progress(store, settings)
    else:
        summary = ingest(store, settings)
    if args.verbose:
        for o in summary.outcomes:
            if o.error:
                print(f"  failed {o.url}: {o.error}")
    print(summary.line())
    return 0


def _ingest_with_progress(store: Store, settings: Settings) -> IngestSummary:
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

        return ingest(store, settings, on_progress=advance, on_start=started)


def cmd_rank_fit(args: argparse.Namespace, settings: Settings) -> int:
    from curation.jobs import refresh_rank_model

    fitted = refresh_rank_model(make_engine(settings.database_url), settings)
    print("ranking model fitted" if fitted else "no items in the window: nothing to fit")
    return 0


def cmd_digests_send(args: argparse.Namespace, settings: Settings) -> int:
    from curation.jobs import send_due_digests

    print(send_due_digests(make_engine(settings.database_url), settings).line())
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from curation.scheduler import serve

    host = args.host or settings.api_host
    port = args.port or settings.api_port
    print(f"curation: serving http://{host}:{port} (API docs at /docs); Ctrl-C to stop")
    asyncio.run(serve(settings, host=host, port=port))
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
    add = src.add_parser("add", help="add one source by feed URL")
    add.add_argument("url")
    add.add_argument("--title")
    add.add_argument("--category", help="slash-separated path, e.g. Technology/Python")
    add.set_defaults(func=cmd_sources_add)
    lst = src.add_parser("list", help="list sources with their health")
    lst.set_defaults(func=cmd_sources_list)

    ing = sub.add_parser("ingest", help="run one ingest cycle over all due sources")
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    ing.add_argument("-v", "--verbose", action="store_true", help="list failed sources")
    ing.set_defaults(func=cmd_ingest)
    cli_people.register(sub)

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
    run.add_argument("--host", help="default: CURATION_API_HOST (127.0.0.1)")
    run.add_argument("--port", type=int, help="default: CURATION_API_PORT (8000)")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, get_settings())
    except CurationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
