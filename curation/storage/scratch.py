"""A throwaway PostgreSQL database: created under a unique name on a server, dropped after use.

The tests (``tests/conftest.py``) and the benchmarks (``bench/``) each run on a fresh database
made by :func:`scratch_database`; nothing in the service itself uses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """Create the database ``<prefix>_<random>`` on the server of ``server_url`` (an URL of any
    database there that the user may ``CREATE DATABASE`` from), yield its URL, and drop it
    afterwards, ending the sessions still connected to it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
