"""``curation people …``: bootstrap and inspect people from the command line.

``curation people add --email E --name N --role admin`` creates the first admin and prints their
API key, the only time it is shown (only its hash is stored).
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from curation.errors import InvalidInput
from curation.people.records import NewPerson
from curation.services import make_curation
from curation.settings import Settings
from curation.storage.people import PeopleStore
from curation.vocab import ROLES


def _people(settings: Settings) -> PeopleStore:
    return make_curation(settings).people


def parse_interest(text: str) -> tuple[str, float]:
    """``"phrase:weight"`` (weight optional, 1 by default) → (phrase, weight)."""
    phrase, sep, weight = text.rpartition(":")
    if not sep:
        return text, 1.0
    try:
        return phrase, float(weight)
    except ValueError:
        raise InvalidInput(f"interest {text!r}: the weight after ':' must be a number") from None


def cmd_people_add(args: argparse.Namespace, settings: Settings) -> int:
    # ``people add`` stores its options under the field names of NewPerson (see register)
    given = {f.name: getattr(args, f.name) for f in fields(NewPerson)}
    given["interests"] = [parse_interest(i) for i in given["interests"]]
    person, api_key = _people(settings).create(NewPerson(**given))
    print(f"created person {person.id} ({person.role}): {person.name} <{person.email}>")
    print(f"API key (shown once, keep it safe): {api_key}")
    return 0


def cmd_people_list(args: argparse.Namespace, settings: Settings) -> int:
    people = _people(settings).all()
    for p in people:
        interests = ", ".join(phrase for phrase, _ in p.interests) or "-"
        print(f"{p.id:>5}  {p.role:<8} {p.email:<32} {p.name}  [{interests}]")
    print(f"{len(people)} people")
    return 0


def cmd_people_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    api_key = _people(settings).rotate_key(args.id)
    print(f"new API key for person {args.id} (shown once; the old one no longer works): {api_key}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``people`` command group to the ``curation`` parser."""
    people = subparsers.add_parser("people", help="people and their API keys").add_subparsers(
        dest="people_command", required=True
    )
    add = people.add_parser("add", help="add a person and print their API key")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=ROLES, default="learner")
    add.add_argument("--timezone", default="UTC", help="IANA name, e.g. Europe/Paris")
    add.add_argument("--digest-hour", type=int, default=7, help="local hour of the digest (0-23)")
    add.add_argument(
        "--interest",
        dest="interests",
        action="append",
        default=[],
        metavar="PHRASE[:WEIGHT]",
        help="an interest, repeatable (e.g. 'learning analytics:2')",
    )
    add.add_argument(
        "--mute", dest="mutes", action="append", default=[], metavar="PHRASE", help="repeatable"
    )
    add.set_defaults(func=cmd_people_add)
    lst = people.add_parser("list", help="list people")
    lst.set_defaults(func=cmd_people_list)
    rotate = people.add_parser("rotate-key", help="issue a new API key for a person")
    rotate.add_argument("id", type=int)
    rotate.set_defaults(func=cmd_people_rotate_key)
