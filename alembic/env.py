"""Alembic environment: migrates the database named by the caller or by CURATION_DATABASE_URL.

Each revision runs in a transaction of its own, its ``alembic_version`` update included
(``transaction_per_migration``): a revision that fails part-way leaves the database exactly at
the previous revision, and the upgrade can simply be run again. PostgreSQL has transactional
DDL; on SQLite it needs Python's sqlite3 module kept from managing transactions itself (it runs
DDL in autocommit), so the engine made here issues ``BEGIN`` itself
(:func:`_sqlite_ddl_in_transactions`).
A connection given by the caller (``config.attributes["connection"]``) is used as it is.
"""

from __future__ import annotations

from logging.config import fileConfig

from sqlalchemy import Engine, engine_from_config, event, pool

from alembic import context
from curation.settings import get_settings
from curation.storage.migration_filters import include_name, include_object
from curation.storage.tables import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        if connectable.dialect.name == "sqlite":
            _sqlite_ddl_in_transactions(connectable)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _sqlite_ddl_in_transactions(engine: Engine) -> None:
    """SQLAlchemy's documented recipe for transactional DDL with pysqlite: the driver issues
    no BEGIN/COMMIT of its own; SQLAlchemy's transactions emit ``BEGIN`` themselves."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        transaction_per_migration=True,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
