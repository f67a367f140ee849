"""The team store's choices on SQLite and PostgreSQL: every team's id and name, in the order of
the full list, without reading the members."""

from __future__ import annotations

from sqlalchemy import event

from curation.people.records import NewPerson
from curation.records import Choice
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from curation.storage.teams import TeamStore
from tests.helpers.store import T0


def test_choices_are_the_list_without_member_counts(any_store: Store) -> None:
    teams = TeamStore(any_store.engine)
    assert teams.choices() == []
    people = PeopleStore(any_store.engine)
    person = people.create(NewPerson(email="m@example.org", name="M"))[0]
    made = [teams.create(name, now=T0) for name in ("Nursing", "Data", "Art", "Data team")]
    teams.set_members(made[1].id, {person.id: "lead"}, now=T0)

    listed = teams.list()
    assert [t.name for t in listed] == ["Art", "Data", "Data team", "Nursing"]
    assert teams.choices() == [Choice(t.id, t.name) for t in listed]

    sent: list[str] = []
    listen = lambda *args: sent.append(args[2])  # noqa: E731 - (conn, cursor, statement, …)
    event.listen(any_store.engine, "before_cursor_execute", listen)
    try:
        teams.choices()
    finally:
        event.remove(any_store.engine, "before_cursor_execute", listen)
    assert len(sent) == 1
    assert "team_member" not in sent[0]  # no member counts
