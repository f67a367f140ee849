"""Settings for tests: a given database, fetches allowed to loopback only, short timeouts."""

from __future__ import annotations

from sqlalchemy import Engine

from curation.settings import Settings
from curation.storage.feeds import Store


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "fetch_allow_hosts": "127.0.0.1,::1",
        "fetch_connect_timeout": 2.0,
        "fetch_read_timeout": 2.0,
        "fetch_total_timeout": 5.0,
        # rate limits far above what any test sends (the limits are on, just never reached);
        # tests/api/test_rate_limits.py sets its own, small ones
        "rate_limit_auth_failures": 100_000,
        "rate_limit_per_key": 100_000,
        "rate_limit_per_address": 100_000,
        "rate_limit_submissions": 100_000,
        "rate_limit_sign_in": 100_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def db_url(store: Store | Engine) -> str:
    """The URL of the database this store (or engine) writes to, password included."""
    engine = store.engine if isinstance(store, Store) else store
    return engine.url.render_as_string(hide_password=False)


def settings_for(store: Store | Engine, **overrides: object) -> Settings:
    """Test settings on the database this store (or engine) writes to."""
    return make_settings(db_url(store), **overrides)
