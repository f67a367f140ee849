"""The e-mail delivery queries on a real database: the waiting digests are found through the
index of migration 0021, not by reading every digest ever recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from curation.storage.deliveries import DeliveryRows, _due, _waiting, digest_table
from curation.storage.feeds import Store


def plan_of(store: Store, query) -> str:  # noqa: ANN001
    with store.engine.begin() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
            return " ".join(str(r) for r in rows)
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: ask for the index
        return "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))


def test_waiting_digests_are_found_through_the_index(any_store: Store) -> None:
    now = datetime(2026, 12, 7, 9, tzinfo=UTC)
    assert DeliveryRows(any_store.engine).due(now) == []  # the statement runs
    for where in (_due(now), _waiting(now)):
        plan = plan_of(any_store, select(digest_table.c.id).where(where))
        assert "ix_digest_email_due" in plan, plan
