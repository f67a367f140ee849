"""A revision that fails part-way (issue 17, class 7) leaves the database at the revision before
it, data intact, and the upgrade can be run again, on SQLite as on PostgreSQL.

The failing revision is real: a copy of ``alembic/`` in a temporary directory gets one more
revision that changes the schema in several steps (a new column, a new table, a table rebuilt
in SQLite's batch mode) and then fails. Once the fault is removed, the same upgrade runs to head.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from alembic import command
from curation.people.records import NewPerson
from curation.storage.engine import ALEMBIC_DIR, alembic_config, make_engine, upgrade
from curation.storage.people import PeopleStore

FAILING = '''"""test only: several schema changes, then a failure

Revision ID: 9999
"""

import sqlalchemy as sa

from alembic import op

revision = "9999"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("probe_note", sa.Text(), nullable=True))
    op.create_table("probe", sa.Column("id", sa.Integer(), primary_key=True))
    flag = sa.Column("probe_flag", sa.Integer(), nullable=True)
    if op.get_bind().dialect.name == "sqlite":  # a table rebuild, as our SQLite migrations do
        with op.batch_alter_table("source", recreate="always") as batch:
            batch.add_column(flag)
    else:
        op.add_column("source", flag)
    op.execute("INSERT INTO probe (id) VALUES (1)")
    {fault}


def downgrade() -> None:
    pass
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


def scripts_with_failing_revision(tmp_path: Path, *, fails: bool) -> Config:
    """A copy of our migrations plus revision 9999 on top of the current head(s)."""
    copy = tmp_path / "alembic"
    if not copy.exists():
        shutil.copytree(ALEMBIC_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    heads = ScriptDirectory.from_config(alembic_config("")).get_heads()
    down = heads[0] if len(heads) == 1 else tuple(sorted(heads))
    fault = 'raise RuntimeError("revision 9999 fails half-way")' if fails else "pass"
    (copy / "versions" / "9999_test_failing.py").write_text(FAILING.format(down=down, fault=fault))
    for cached in (copy / "versions").glob("__pycache__"):
        shutil.rmtree(cached)
    return copy


def config_for(copy: Path, url: str) -> Config:
    cfg = alembic_config(url)
    cfg.set_main_option("script_location", str(copy))
    return cfg


def test_a_revision_failing_half_way_can_be_run_again(tmp_path: Path, database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    people = PeopleStore(engine)
    person, _ = people.create(NewPerson(email="kept@example.org", name="Kept"))
    with engine.connect() as conn:
        before = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()

    copy = scripts_with_failing_revision(tmp_path, fails=True)
    with pytest.raises(RuntimeError, match="fails half-way"):
        command.upgrade(config_for(copy, database_url), "heads")

    engine.dispose()
    schema = inspect(engine)
    assert "probe" not in schema.get_table_names()
    assert "probe_note" not in {c["name"] for c in schema.get_columns("person")}
    assert "probe_flag" not in {c["name"] for c in schema.get_columns("source")}
    with engine.connect() as conn:
        after = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert sorted(after) == sorted(before)  # still at the revision before the failing one
    assert people.get(person.id).email == "kept@example.org"

    # the fault fixed, the same upgrade goes through
    copy = scripts_with_failing_revision(tmp_path, fails=False)
    command.upgrade(config_for(copy, database_url), "heads")
    engine.dispose()
    schema = inspect(engine)
    assert "probe" in schema.get_table_names()
    assert "probe_note" in {c["name"] for c in schema.get_columns("person")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
            "9999"
        )
        assert conn.execute(text("SELECT count(*) FROM probe")).scalar_one() == 1
    assert people.get(person.id).email == "kept@example.org"
    engine.dispose()


def test_each_of_our_revisions_runs_in_a_transaction_of_its_own(sqlite_url: str) -> None:
    """Stopping at any revision and going on from there gives the same schema as one run."""
    script = ScriptDirectory.from_config(alembic_config(""))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        upgrade(sqlite_url, revision)
    stepwise = make_engine(sqlite_url)
    with stepwise.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert sorted(version) == sorted(script.get_heads())
    stepwise.dispose()
