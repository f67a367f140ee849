"""Is the database's schema the one this code needs? (the revision Alembic recorded vs. head)

A process that serves requests asks once at start (:func:`check_schema`) and refuses to answer
while the schema is behind or ahead: every query would otherwise fail in its own way (500s on
some paths only). The answer names both revisions and what to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from curation.errors import SchemaNotCurrent
from curation.storage.engine import alembic_config

#: ``Retry-After`` while the schema is not current (someone has to run the upgrade)
SCHEMA_RETRY_AFTER = 60


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: tuple[str, ...]  # revisions recorded in the database (empty: none, a new database)
    heads: tuple[str, ...]  # what this code's migrations end at

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.heads)

    def reason(self) -> str | None:
        """Why this database cannot be served, in words; None when it can."""
        if self.at_head:
            return None
        needs = ", ".join(self.heads)
        if not self.current:
            return f"database has no schema, code needs {needs}: run `curation db upgrade`"
        at = ", ".join(self.current)
        if set(self.current) <= set(_known_revisions()):
            return f"database at {at}, code needs {needs}: run `curation db upgrade`"
        return (
            f"database at {at}, which this code does not know (needs {needs}): it was upgraded"
            " by a newer version; run that version"
        )


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in _script().walk_revisions())


def code_heads() -> tuple[str, ...]:
    return tuple(sorted(_script().get_heads()))


def schema_state(engine: Engine) -> SchemaState:
    """The revisions recorded in ``engine``'s database and those the code needs (one query)."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return SchemaState(tuple(sorted(current)), code_heads())


def check_schema(engine: Engine) -> SchemaState:
    """The schema state; raises :class:`SchemaNotCurrent` when it is not at head."""
    state = schema_state(engine)
    reason = state.reason()
    if reason is not None:
        raise SchemaNotCurrent(reason, retry_after=SCHEMA_RETRY_AFTER)
    return state
