"""What the autogenerate comparison leaves out: search structures that live only in migrations.

Full-text search is built per dialect by migration 0003 with raw SQL (an FTS5 virtual table and
its shadow tables on SQLite, a GIN expression index on PostgreSQL). They are not in the SQLModel
metadata on purpose; ``alembic/env.py`` and the drift test pass these filters so that neither
reports them as drift nor proposes to drop them.
"""

from __future__ import annotations

SEARCH_TABLE = "item_fts"
SEARCH_INDEX = "ix_item_fts"


def is_search_table(name: str | None) -> bool:
    """The FTS5 table itself and its shadow tables (``item_fts_data``, ``item_fts_idx``…)."""
    return name is not None and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:  # noqa: ARG001
    """Alembic ``include_name`` hook: do not even reflect the search structures."""
    if type_ == "table":
        return not is_search_table(name)
    if type_ == "index":
        return name != SEARCH_INDEX
    return True


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to) -> bool:  # noqa: ANN001, ARG001
    """Alembic ``include_object`` hook, the same rule for objects reached another way."""
    return include_name(name, type_, {})
