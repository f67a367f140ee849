"""The procrastinate app of a PostgreSQL deployment, built from :class:`Settings`, and its schema.

procrastinate keeps its queue in tables of our database (``procrastinate_jobs`` and friends).
:func:`ensure_schema` creates them once, under an advisory lock so that workers starting
together do not race; ``curation db upgrade`` calls it on PostgreSQL (never on SQLite), and so
do ``curation worker`` and ``curation jobs enqueue`` before they start.
"""

from __future__ import annotations

import psycopg
from procrastinate import App, PsycopgConnector
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from curation.errors import InvalidInput
from curation.settings import Settings

#: key of the advisory lock held while the schema is created ("curj" in ASCII)
SCHEMA_LOCK_KEY = 0x6375726A
NEEDS_POSTGRES = (
    "jobs need PostgreSQL (CURATION_DATABASE_URL=postgresql+psycopg://…); on SQLite"
    " `curation run` does the same work in-process"
)


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (the driver part dropped)."""
    if not is_postgres(database_url):
        raise InvalidInput(NEEDS_POSTGRES)
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def make_app(settings: Settings, *, periodic: bool = True) -> App:
    """The app with every task registered (and the periodic round unless ``periodic=False``).
    Open it (``async with app.open_async()``) before use."""
    from curation.jobs import schedule, tasks

    connector = PsycopgConnector(conninfo=conninfo(settings.database_url), min_size=1, max_size=4)
    app = App(connector=connector)
    tasks.register(app)
    schedule.register(app, periodic=periodic)
    return app


def ensure_schema(settings: Settings) -> bool:
    """Create procrastinate's tables if they are missing; True when it created them."""
    with psycopg.connect(conninfo(settings.database_url)) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        conn.execute(SchemaManager.get_schema())  # no parameters: several statements at once
        return True
