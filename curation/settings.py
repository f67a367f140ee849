"""Typed settings read from the environment (prefix ``CURATION_``).

Build them with :func:`get_settings` (or construct :class:`Settings` directly in tests);
nothing reads the environment at import time. Every field has a description: the README's
settings table is generated from them (:func:`settings_table`, checked by a test), and a value
out of range is refused at start with the variable's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "CURATION_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    # storage
    database_url: str = Field(
        "sqlite:///curation.db",
        description="SQLite file, or `postgresql+psycopg://user@host:5432/db`",
    )

    # fetching
    fetch_allow_hosts: str = Field(
        "",
        description=(
            "comma-separated hosts or CIDRs the address guard lets through, e.g."
            " `127.0.0.1,10.0.0.0/8`; cloud-metadata addresses stay refused"
        ),
    )
    fetch_connect_timeout: float = Field(10.0, gt=0, description="seconds to connect, per fetch")
    fetch_read_timeout: float = Field(20.0, gt=0, description="seconds between two reads")
    fetch_total_timeout: float = Field(60.0, gt=0, description="seconds for a whole fetch")
    fetch_max_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="body cap, counted after decompression"
    )
    fetch_max_redirects: int = Field(5, ge=0, description="redirect hops followed, each re-checked")
    fetch_concurrency: int = Field(50, gt=0, description="simultaneous fetches overall")
    fetch_per_host: int = Field(4, gt=0, description="simultaneous fetches per host")
    fetch_user_agent: str = Field(
        "curation/0.1 (+https://github.com/curation/curation; knowledge-flow digest)",
        description="the User-Agent of every fetch",
    )

    # ingest
    ingest_workers: int = Field(
        0,
        ge=0,
        description=(
            "processes that share a big batch, each fetching, parsing, cleaning and storing"
            " (0: one per CPU; never more than `CURATION_FETCH_PER_HOST`)"
        ),
    )
    ingest_pool_min_sources: int = Field(
        20, gt=0, description="smaller batches run in the calling process"
    )

    # scheduling
    poll_interval_minutes: int = Field(60, gt=0, description="how often a healthy feed is polled")
    backoff_base_minutes: int = Field(
        15, gt=0, description="wait after a feed's first failure; doubles with each further one"
    )
    backoff_max_hours: int = Field(24, gt=0, description="longest wait between failing polls")

    # `curation run`
    api_host: str = Field("127.0.0.1", description="address `curation run` listens on")
    api_port: int = Field(8000, ge=1, le=65535, description="port `curation run` listens on")
    scheduler_tick_seconds: float = Field(
        60.0, gt=0, description="how often `curation run` looks for due work"
    )
    default_sources: str = Field(
        "",
        description=(
            "OPML file `curation run` imports into a database with no sources; empty: the"
            " `feeds.opml` shipped with curation; `-`: none"
        ),
    )

    # logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="`DEBUG`, `INFO`, `WARNING` or `ERROR`; log lines go to stderr"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="`text` (one readable line) or `json` (one JSON object a line)"
    )

    # HTTP API
    api_max_body_bytes: int = Field(
        1024 * 1024, gt=0, description="request bodies above this get 413"
    )
    api_max_opml_bytes: int = Field(
        5 * 1024 * 1024, gt=0, description="OPML imports above this get 413"
    )
    api_auth_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description=(
            "how long an API process remembers who holds a key it has just checked (0: check"
            " every request); changes made elsewhere apply within this many seconds"
        ),
    )

    # digests
    digest_max_items: int = Field(10, gt=0, le=100, description="at most this many items a day")
    digest_window_hours: int = Field(
        24,
        gt=0,
        description="what counts as new for a first digest, and the default recommendation window",
    )

    # ranking: the TF-IDF model is fitted on items first seen within the last rank_window_days
    rank_window_days: int = Field(30, gt=0, description="the model is fitted on this many days")
    rank_min_df: int = Field(2, ge=1, description="a term must occur in this many window items")
    rank_max_df: float = Field(0.5, gt=0, le=1, description="...and in at most this share of them")
    rank_title_weight: float = Field(
        3.0, gt=0, description="a title word counts as this many body words"
    )
    rank_min_relevance: float = Field(
        0.25, ge=0, le=1, description="items below this relevance never make a digest"
    )
    rank_half_life_hours: float = Field(36.0, gt=0, description="recency decay half-life")
    rank_max_items: int = Field(50_000, gt=0, description="the most recent items of the window")

    # e-mail: with no smtp_url, mail is written as .eml files to outbox_dir (the embedded default)
    smtp_url: SecretStr = Field(
        SecretStr(""),
        description=(
            "`smtp://host:25`, `smtp://user:pass@host:587?starttls=1` or `smtps://…:465`;"
            " empty: write `.eml` files to the outbox"
        ),
    )
    smtp_timeout: float = Field(30.0, gt=0, description="seconds per SMTP conversation step")
    outbox_dir: str = Field("outbox", description="where e-mails go when there is no SMTP server")
    mail_from: str = Field("curation <digest@localhost>", description="the From of every e-mail")
    public_base_url: str = Field(
        "",
        description=(
            "where the links in e-mails point; empty: `http://CURATION_API_HOST:CURATION_API_PORT`"
            " (so `curation run --port P` links to port P)"
        ),
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="signs the links in e-mails; empty: a random key kept in `secret_key_file`",
    )
    secret_key_file: str = Field(
        "curation.secret", description="where the generated link-signing key is kept"
    )
    email_feedback_link_days: int = Field(30, gt=0, description="feedback links expire after this")
    email_unsubscribe_link_days: int = Field(
        365, gt=0, description="unsubscribe links expire after this"
    )
    email_unsubscribe_mailto: str = Field(
        "", description="optional address for a `mailto:` List-Unsubscribe"
    )
    email_lease_minutes: int = Field(
        10, gt=0, description="a digest left sending longer than this is retried"
    )
    email_retry_base_minutes: int = Field(
        5, gt=0, description="first wait after a temporary failure; doubles each time"
    )
    email_retry_max_minutes: int = Field(360, gt=0, description="longest wait between retries")
    email_max_attempts: int = Field(8, gt=0, description="then the digest is marked failed")

    # content limits
    max_title_chars: int = Field(500, gt=0, description="longer titles are cut")
    max_entries_per_feed: int = Field(500, gt=0, description="entries read from one document")

    @field_validator("database_url")
    @classmethod
    def _sqlite_parent_exists(cls, value: str) -> str:
        if value.startswith("sqlite:///") and not value.startswith("sqlite:///:memory:"):
            path = Path(value.removeprefix("sqlite:///"))
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
        return value

    @property
    def base_url(self) -> str:
        """Where the service is reached from outside: the links in e-mails point here."""
        explicit = self.public_base_url.strip()
        if explicit:
            return explicit
        host = self.api_host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - listening everywhere: link to loopback
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.api_port}"


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (for tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]


def settings_table() -> str:
    """Every setting as a Markdown table (the README's, kept complete by a test)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        shown = f"`{default}`" if default not in ("", None) else "*(empty)*"
        lines.append(f"| `{PREFIX}{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m curation.settings: print the table
    print(settings_table(), end="")
