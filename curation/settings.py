"""Typed settings read from the environment (prefix ``CURATION_``).

Build them with :func:`get_settings` (or construct :class:`Settings` directly in tests);
nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CURATION_", extra="ignore")

    # storage
    database_url: str = "sqlite:///curation.storage.engine"

    # fetching
    fetch_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts or CIDRs the SSRF guard lets through (e.g. 127.0.0.1).",
    )
    fetch_connect_timeout: float = 10.0
    fetch_read_timeout: float = 20.0
    fetch_total_timeout: float = 60.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5
    fetch_concurrency: int = 50
    fetch_per_host: int = 4
    fetch_user_agent: str = (
        "curation/0.1 (+https://github.com/curation/curation; knowledge-flow digest)"
    )

    # ingest: worker processes that share a batch, each fetching, parsing, cleaning and storing
    # (0 = one per CPU, never more than fetch_per_host); batches with fewer due sources than
    # ingest_pool_min_sources are processed inline
    ingest_workers: int = 0
    ingest_pool_min_sources: int = 20

    # scheduling
    poll_interval_minutes: int = 60
    backoff_base_minutes: int = 15
    backoff_max_hours: int = 24

    # `curation run`
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    scheduler_tick_seconds: float = 60.0

    # HTTP API: request bodies larger than this are refused with 413 (OPML imports get more)
    api_max_body_bytes: int = 1024 * 1024
    api_max_opml_bytes: int = 5 * 1024 * 1024
    # an API key's holder is remembered this long after a lookup (0 = look up on every request);
    # changes made through this API process apply at once, others within this many seconds
    api_auth_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    # digests
    digest_max_items: int = 10  # at most this many items in "For you"
    digest_window_hours: int = 24  # what counts as new for a person's first digest

    # ranking: the TF-IDF model is fitted on items first seen within the last rank_window_days
    rank_window_days: int = 30
    rank_min_df: int = 2  # vectorizer: a term must occur in this many window items
    rank_max_df: float = 0.5  # ...and in at most this share of them
    rank_title_weight: float = 3.0  # a title word counts as this many body words
    rank_min_relevance: float = 0.25  # quiet days give short digests, not noise
    rank_half_life_hours: float = 36.0  # recency decay
    rank_max_items: int = 50_000  # the most recent items of the window, at most

    # e-mail: with no smtp_url, mail is written as .eml files to outbox_dir (the embedded
    # default). smtp_url: smtp://host:25 (plain), smtp://user:pass@host:587 or ?starttls=1
    # (STARTTLS, required), smtps://user:pass@host:465 (implicit TLS). See curation/mail.
    smtp_url: SecretStr = SecretStr("")
    smtp_timeout: float = 30.0
    outbox_dir: str = "outbox"
    mail_from: str = "curation <digest@localhost>"
    public_base_url: str = "http://127.0.0.1:8000"  # where the links in an e-mail point
    # signs the links in e-mails; when empty, a random key is created once in secret_key_file
    secret_key: SecretStr = SecretStr("")
    secret_key_file: str = "curation.secret"  # noqa: S105 - a file name, not a secret
    email_feedback_link_days: int = 30
    email_unsubscribe_link_days: int = 365
    email_unsubscribe_mailto: str = ""  # optional address for a mailto: List-Unsubscribe
    email_lease_minutes: int = 10  # a digest left "sending" longer than this is retried
    email_retry_base_minutes: int = 5  # temporary failures back off 5, 10, 20 … minutes
    email_retry_max_minutes: int = 360
    email_max_attempts: int = 8  # then the digest is marked failed

    # content limits
    max_title_chars: int = 500
    max_entries_per_feed: int = 500

    @field_validator("database_url")
    @classmethod
    def _sqlite_parent_exists(cls, value: str) -> str:
        if value.startswith("sqlite:///") and not value.startswith("sqlite:///:memory:"):
            path = Path(value.removeprefix("sqlite:///"))
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
        return value


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (for tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
