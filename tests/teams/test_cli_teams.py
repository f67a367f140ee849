"""``curation teams``: create a team, set its members, list them (a real subprocess)."""

from __future__ import annotations

from tests.helpers.cli import add_person, run


def test_teams_from_the_command_line(env: dict[str, str]) -> None:
    run(["db", "upgrade"], env)
    add_person(env, "--email", "ada@example.org", "--name", "Ada")
    add_person(env, "--email", "bob@example.org", "--name", "Bob")
    assert "created team 1: Platform" in run(["teams", "add", "Platform"], env).stdout
    out = run(["teams", "members", "1", "--person", "1", "--person", "2", "--lead", "1"], env)
    assert "lead   ada@example.org" in out.stdout and "2 members" in out.stdout
    assert "2 members  Platform" in run(["teams", "list"], env).stdout
    bad = run(["teams", "members", "1", "--person", "99"], env, check=False)
    assert bad.returncode == 1 and "no such person: 99" in bad.stderr
