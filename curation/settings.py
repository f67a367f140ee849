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
            "comma-separated hosts, CIDRs and `:PORT` entries the address guard lets through,"
            " e.g. `127.0.0.1,10.0.0.0/8,:8022`; cloud-metadata addresses stay refused"
        ),
    )
    fetch_connect_timeout: float = Field(10.0, gt=0, description="seconds to connect, per fetch")
    fetch_read_timeout: float = Field(20.0, gt=0, description="seconds between two reads")
    fetch_total_timeout: float = Field(60.0, gt=0, description="seconds for a whole fetch")
    fetch_headers_timeout: float = Field(
        20.0,
        gt=0,
        description=(
            "seconds from sending a request to its complete response headers, however slowly"
            " they trickle in (each redirect hop); within `CURATION_FETCH_TOTAL_TIMEOUT`"
        ),
    )
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
    api_threads: int = Field(
        2,
        ge=1,
        le=200,
        description=(
            "how many requests an API process works on at once in its threads (the others wait"
            " their turn): threads that share one interpreter and one database file slow each"
            " other down, so a few serve faster than many; raise it for a database far away"
        ),
    )
    api_auth_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description=(
            "an API process remembers who holds a key (and a web session) while nothing about"
            " people changed, and asks the database whether anything did at most this often"
            " (one small query for all keys); changes made elsewhere apply within this many"
            " seconds, at once in the process that made them (0: check every request)"
        ),
    )

    # digests
    digest_max_items: int = Field(10, gt=0, le=100, description="at most this many items a day")
    digest_window_hours: int = Field(
        24,
        gt=0,
        description="what counts as new for a first digest, and the default recommendation window",
    )
    digest_chunk_people: int = Field(
        2000,
        ge=1,
        le=100_000,
        description=(
            "people whose digests are built together (one ranking call, set-based queries and"
            " one transaction per chunk); larger is faster and takes more memory"
        ),
    )
    share_weekly_budget: int = Field(
        5,
        ge=0,
        le=1000,
        description=(
            "shares a person may make with their teams in any 7 days (the over-sharing guard);"
            " past it, POST /v1/me/shares is a 429 saying when the next share is possible"
        ),
    )
    team_share_max_fraction: float = Field(
        0.3,
        ge=0,
        le=1,
        description=(
            "at most this fraction of a digest's items are team shares (rounded down, but at"
            " least one when the digest has any item)"
        ),
    )
    email_sender_processes: int = Field(
        1,
        ge=0,
        le=32,
        description=(
            "processes that render and send e-mail alongside digest building in a big batch"
            " (from 200 digests in a chunk), each taking its share of the digests; 0: only a"
            " thread of the building process sends"
        ),
    )

    # ranking: the TF-IDF model is fitted on items first seen within the last rank_window_days
    rank_window_days: int = Field(30, gt=0, description="the model is fitted on this many days")
    rank_min_df: int = Field(2, ge=1, description="a term must occur in this many window items")
    rank_max_df: float = Field(
        0.5,
        gt=0,
        le=1,
        description="words in more than this share of the window are still matched, but not"
        " used for query expansion or the duplicate check",
    )
    rank_title_weight: float = Field(
        3.0, gt=0, description="a title word counts as this many body words"
    )
    rank_min_relevance: float = Field(
        0.25, ge=0, le=1, description="items below this relevance never make a digest"
    )
    rank_half_life_hours: float = Field(36.0, gt=0, description="recency decay half-life")
    rank_max_items: int = Field(50_000, gt=0, description="the most recent items of the window")
    rank_cache_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        description=(
            "live recommendations reuse a person's ranked list this long while the model, their"
            " interests, mutes and feedback are unchanged (0: rank on every request)"
        ),
    )
    rank_live_check_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description=(
            "an API process answers a person's live recommendations from memory, without asking"
            " the database whether new items, a new model, gems or feedback arrived, for this"
            " long after it last asked; a change made through the same process is seen at once,"
            " one made elsewhere within this many seconds (0: ask on every request)"
        ),
    )

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

    # jobs on PostgreSQL (`curation worker`, curation/jobs) and API processes
    jobs_ingest_shards: int = Field(
        4, ge=1, le=1024, description="ingest jobs per round: sources split by id modulo this"
    )
    jobs_people_per_chunk: int = Field(
        2000, ge=1, le=100_000, description="people (a range of ids) per digest-building job"
    )
    jobs_delivery_lanes: int = Field(
        2,
        ge=1,
        le=256,
        description="delivery jobs per channel (e-mail, Slack, Teams) that may run at once"
        " (on any workers)",
    )
    worker_stalled_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="a job whose worker sent no heartbeat for this long is retried elsewhere",
    )
    api_workers: int = Field(
        1, ge=1, le=64, description="API processes of `curation run` / `curation serve`"
    )

    # HTTP API: rate limits (requests per minute; 0 disables that limit) and faults
    rate_limit_auth_failures: int = Field(
        10,
        ge=0,
        description=(
            "wrong or missing API keys a client address may send per minute; beyond, every"
            " request from it that needs a key gets 429 until the minute has room again"
        ),
    )
    rate_limit_per_key: int = Field(
        600, ge=0, description="requests per minute one API key may make"
    )
    rate_limit_per_address: int = Field(
        1200,
        ge=0,
        description="requests per minute from one client address (`/healthz`, `/metrics` exempt)",
    )
    rate_limit_submissions: int = Field(
        30,
        ge=0,
        description=(
            "source submissions (`POST /v1/sources`, `/v1/sources/import`) per minute, per API"
            " key and per client address"
        ),
    )
    rate_limit_storage: str = Field(
        "memory://",
        description=(
            "where rate-limit counters live: `memory://` (one process) or a shared"
            " `redis://host:6379` for several API processes"
        ),
    )
    api_inline_read_ms: float = Field(
        20.0,
        ge=0,
        le=1000,
        description=(
            "on SQLite, an API process answers bounded reads (workspace lists and search, item,"
            " gem, source and collection lists) on its event loop, not in a thread, and moves one"
            " to a thread once it has run this many milliseconds; 0: every read in a thread, as"
            " on PostgreSQL"
        ),
    )
    api_busy_timeout: float = Field(
        3.0,
        gt=0,
        le=60,
        description=(
            "seconds an API request waits for a database lock held by another writer before"
            " answering 503 with `Retry-After` (ingest and batch jobs wait 30 s)"
        ),
    )
    api_header_timeout: float = Field(
        10.0,
        gt=0,
        description=(
            "seconds a client has to send a request's headers (from connecting, or from the end"
            " of the previous response); slower connections are closed"
        ),
    )

    # curators' workspace: insights, collections, open tracking (issue 13)
    insight_gap_items: int = Field(
        4,
        ge=1,
        le=10_000,
        description=(
            'an interest is flagged as a gap ("add sources for this") when fewer items than this'
            " were above the relevance floor for it in the last 30 days"
        ),
    )
    insight_cache_seconds: float = Field(
        300.0,
        ge=0,
        le=3600,
        description=(
            "the curators' insight figures are recomputed by the scheduler (or a worker) once"
            " they are this old, stored, and read by every API process; an API process with no"
            " scheduler beside it recomputes them itself past twice this (0: computed on every"
            " request)"
        ),
    )
    email_open_grace_seconds: int = Field(
        120,
        ge=0,
        le=86_400,
        description=(
            "a click on an item link in a digest e-mail within this many seconds of the e-mail"
            " being sent (or before it is marked sent) redirects but is not counted as an open:"
            " mail scanners follow every link on delivery"
        ),
    )

    # the web workspace (app/web): sign-in links and session cookies
    web_session_hours: int = Field(
        12, ge=1, le=720, description="a web session cookie expires this many hours after sign-in"
    )
    web_sign_in_link_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="an e-mailed sign-in link works once, within this many minutes",
    )
    rate_limit_sign_in: int = Field(
        5,
        ge=0,
        description=(
            "sign-in attempts (links asked for by e-mail, API keys tried on the sign-in page) per"
            " minute, per client address and per e-mail address"
        ),
    )

    # personal digest feeds and xAPI (issue 14)
    personal_feed_days: int = Field(
        30, ge=1, le=366, description="a person's private digest feed carries this many days"
    )
    portfolio_max_import_bytes: int = Field(
        16 * 1024 * 1024,
        gt=0,
        description="portfolio imports above this get 413 (a 10,000-item export is ~9 MB)",
    )
    portfolio_max_import_items: int = Field(
        10_000, gt=0, description="a portfolio import may hold at most this many items (else 422)"
    )
    xapi_url: str = Field(
        "",
        description=(
            "the learning record store's xAPI base (statements go to `{URL}/statements`), e.g."
            " `http://127.0.0.1:8100/xAPI`; empty: no xAPI statements are sent. An operator"
            " setting: the address policy of feeds does not apply to it"
        ),
    )
    xapi_user: str = Field("", description="the LRS's HTTP basic-auth user")
    xapi_password: SecretStr = Field(
        SecretStr(""), description="the LRS's HTTP basic-auth password"
    )
    xapi_batch_size: int = Field(
        100, ge=1, le=1000, description="xAPI statements per POST to the LRS"
    )
    xapi_timeout: float = Field(10.0, gt=0, description="seconds for one POST to the LRS")

    # Slack / Teams webhook channels (issue 14)
    channel_timeout: float = Field(
        10.0, gt=0, le=120, description="seconds for one POST of a digest to a chat webhook"
    )
    channel_concurrency: int = Field(
        16, ge=1, le=256, description="digests posted to chat webhooks at once"
    )
    channel_lease_minutes: int = Field(
        5,
        ge=1,
        le=1440,
        description=(
            "a chat post claimed by a run that then crashed is tried again after this many minutes"
        ),
    )
    channel_retry_base_seconds: int = Field(
        60,
        ge=1,
        le=86_400,
        description=(
            "wait after a chat post's first temporary failure (5xx, time-out); doubles with each"
            " further one, up to `CURATION_CHANNEL_RETRY_MAX_MINUTES`"
        ),
    )
    channel_retry_max_minutes: int = Field(
        60, ge=1, le=1440, description="longest wait between two tries of one chat post"
    )
    channel_retry_after_max_seconds: int = Field(
        3600,
        ge=1,
        le=86_400,
        description="a webhook's `Retry-After` (on 429) is honoured up to this many seconds",
    )
    channel_max_attempts: int = Field(
        8, ge=1, le=100, description="tries of one chat post before it is recorded as failed"
    )

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
