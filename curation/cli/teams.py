"""``curation teams …``: teams from the command line (the same service as ``/v1/teams``).

curation teams add "Platform"
curation teams members 3 --person 12 --person 14 --lead 12
curation teams list
"""

from __future__ import annotations

import argparse

from curation.services import make_curation
from curation.settings import Settings


def cmd_teams_add(args: argparse.Namespace, settings: Settings) -> int:
    team = make_curation(settings).teams.create(args.name)
    print(f"created team {team.id}: {team.name}")
    return 0


def cmd_teams_list(args: argparse.Namespace, settings: Settings) -> int:
    teams = make_curation(settings).teams.list()
    for t in teams:
        print(f"{t.id:>5}  {t.member_count:>5} members  {t.name}")
    print(f"{len(teams)} teams")
    return 0


def cmd_teams_members(args: argparse.Namespace, settings: Settings) -> int:
    """Replace the team's members (``--person``, repeatable; ``--lead`` for leads)."""
    members = make_curation(settings).teams.set_members(args.id, args.people, args.leads)
    for m in members:
        print(f"{m.person_id:>5}  {m.role:<6} {m.email:<32} {m.name}")
    print(f"{len(members)} members")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``teams`` command group to the ``curation`` parser."""
    teams = subparsers.add_parser("teams", help="teams and their members").add_subparsers(
        dest="teams_command", required=True
    )
    add = teams.add_parser("add", help="create a team")
    add.add_argument("name")
    add.set_defaults(func=cmd_teams_add)
    lst = teams.add_parser("list", help="list teams with their member counts")
    lst.set_defaults(func=cmd_teams_list)
    members = teams.add_parser("members", help="replace a team's members")
    members.add_argument("id", type=int)
    members.add_argument("--person", dest="people", type=int, action="append", default=[])
    members.add_argument("--lead", dest="leads", type=int, action="append", default=[])
    members.set_defaults(func=cmd_teams_members)
