"""Read budgets: SQLite reads that stop once they run past a deadline their caller set.

An API process answers some reads on its event loop instead of in a thread (``app.inline``):
on SQLite a read is CPU work in this process, and a thread hop under the GIL costs more than
the read. A read that turns out long (a search for a word in every item ranks every one of
them) must not hold the loop, so it runs on a budget: :func:`read_budget` sets a deadline for
the current context, and any statement a connection of a request engine runs under it stops
with :class:`ReadOverBudget` once the deadline has passed. The caller runs the read again
where waiting is harmless (a thread). Reads only: a write stopped half-way would be rolled
back, but nothing here is meant for writes.

The check is SQLite's progress handler, called every :data:`CHECK_EVERY` virtual-machine steps
(about 50 µs of work here) and installed only on connections checked out under a budget; it
is taken off before the connection goes back to the pool, so other users of the pool (the
API's threads, background work) never pay for it. PostgreSQL engines are not touched: their
reads wait on the network and always run in threads.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Engine, event

from curation.errors import ReadOverBudget

__all__ = ["CHECK_EVERY", "install", "read_budget", "reads_in_process"]

#: virtual-machine steps between two looks at the clock (~50 µs of a search here; measured
#: cost of the look: within the noise of a 1.2 ms search)
CHECK_EVERY = 1000
_INSTALLED = "read_budget"  # a pooled connection's info key while the check is on it


class _Budget:
    """The deadline of a context's reads, and whether the check has stopped one of them."""

    __slots__ = ("deadline", "stopped")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.stopped = False


_budget: ContextVar[_Budget | None] = ContextVar("read_budget", default=None)


@contextmanager
def read_budget(seconds: float) -> Iterator[None]:
    """Statements run in this context (this thread or task) stop with :class:`ReadOverBudget`
    once ``seconds`` have passed since entering it."""
    token = _budget.set(_Budget(time.perf_counter() + seconds))
    try:
        yield
    finally:
        _budget.reset(token)


def reads_in_process(engine: Engine) -> bool:
    """Whether ``engine``'s reads are work in this process that never waits for a writer:
    SQLite (in WAL mode, readers do not wait for writers), not PostgreSQL (the network)."""
    return engine.dialect.name == "sqlite"


def _past_deadline() -> int:
    """SQLite's progress handler: non-zero stops the statement running."""
    budget = _budget.get()
    if budget is None or time.perf_counter() <= budget.deadline:
        return 0
    budget.stopped = True
    return 1


def _over_budget(exc: BaseException) -> bool:
    """``exc`` is SQLite's answer to the check stopping a statement in this context. SQLite
    says so in more than one way ("interrupted"; "vtable constructor failed" when the stop
    fell inside the set-up of the full-text table), so what counts is that the check fired."""
    budget = _budget.get()
    return budget is not None and budget.stopped and isinstance(exc, sqlite3.Error)


def install(engine: Engine) -> None:
    """Let ``engine``'s SQLite connections honour :func:`read_budget` (request engines)."""

    @event.listens_for(engine, "checkout")
    def _on(dbapi_conn, record, _proxy) -> None:  # noqa: ANN001
        if _budget.get() is not None:
            dbapi_conn.set_progress_handler(_past_deadline, CHECK_EVERY)
            record.info[_INSTALLED] = True

    def _off(dbapi_conn, record) -> None:  # noqa: ANN001
        if record.info.pop(_INSTALLED, False) and dbapi_conn is not None:
            dbapi_conn.set_progress_handler(None, 0)

    # off before the pool's rollback-on-return and, for a connection that is not reset, when
    # it is checked in
    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_conn, record, _reset_state) -> None:  # noqa: ANN001
        _off(dbapi_conn, record)

    event.listen(engine, "checkin", _off)

    @event.listens_for(engine, "handle_error")
    def _stopped(context) -> None:  # noqa: ANN001 - sqlalchemy.engine.ExceptionContext
        if _over_budget(context.original_exception):
            raise ReadOverBudget("the read ran past its time budget") from (
                context.original_exception
            )
