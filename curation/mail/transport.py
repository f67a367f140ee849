"""Transports hand a rendered message to the world: an outbox folder, or an SMTP server.

Both take the envelope recipient explicitly (``to``: the address from our own records), never
from the message's headers, and a ``key`` that names the message (``digest-42``): the outbox
writes ``digest-42.eml``, so sending a digest again replaces its file instead of adding one.

Failures are domain errors (:mod:`curation.mail.errors`):

- :class:`PermanentFailure`: the server refused *this message* for good (5xx to RCPT or DATA);
- :class:`TemporaryFailure`: try this message again later (4xx, or the connection dropped
  while the message was being handed over, so it may or may not have arrived);
- :class:`TransportUnavailable`: the server cannot be reached, refuses our login or our sender,
  or is shutting down (421). Nothing was handed over; the caller stops the batch.

``CURATION_SMTP_URL`` forms (userinfo is percent-decoded; query options below):

- ``smtp://host[:25]``: plain SMTP, for a relay on a trusted network. No TLS, no login.
- ``smtp://user:pass@host[:587]`` or ``smtp://host?starttls=1``: STARTTLS, *required*: the
  connection fails if the server does not offer it. A password is never sent in the clear:
  credentials together with ``starttls=0`` are refused.
- ``smtps://user:pass@host[:465]``: implicit TLS from the first byte.
- options: ``timeout=`` seconds, ``helo=`` name, ``cafile=`` a CA bundle to trust (a private
  CA); certificates are always verified.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import parseaddr
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit

from curation.errors import InvalidInput
from curation.mail.errors import PermanentFailure, TemporaryFailure, TransportUnavailable
from curation.settings import Settings

# Bodies are already folded to 76 columns; headers we compose (List-Unsubscribe URLs) must not
# be folded into encoded words, which mail clients would not read back as URLs.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class _WireGenerator(BytesGenerator):
    """``BytesGenerator`` that turns a body's line ends into CRLF in one pass rather than line
    by line (the same bytes: CR, LF and CRLF each become the policy's line end)."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(lines.replace("\r\n", "\n").replace("\r", "\n").replace("\n", self._NL))


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire (CRLF line ends), as ``msg.as_bytes`` writes it."""
    out = BytesIO()
    _WireGenerator(out, mangle_from_=False, policy=WIRE_POLICY).flatten(msg, unixfrom=False)
    return out.getvalue()


class Transport(Protocol):
    def send(self, msg: EmailMessage, *, to: str, key: str) -> None:
        """Deliver ``msg`` to ``to`` or raise a :class:`DeliveryFailed`."""
        ...

    def close(self) -> None: ...


class _Closing:
    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---- outbox ------------------------------------------------------------------------------------


class OutboxTransport(_Closing):
    """Writes each message to ``{dir}/{key}.eml`` atomically (temporary file, fsync, rename)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a usable message key: {key!r}")
        return self.directory / f"{key}.eml"

    def send(self, msg: EmailMessage, *, to: str, key: str) -> None:
        target = self.path_for(key)
        data = message_bytes(msg)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise TransportUnavailable(
                f"cannot write to the outbox {self.directory}: {exc}"
            ) from exc


# ---- SMTP --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SMTPConfig:
    host: str
    port: int
    security: Literal["plain", "starttls", "tls"]
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    helo: str | None = None
    cafile: str | None = None

    @property
    def where(self) -> str:
        """Host and port, for messages (never the credentials)."""
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str, *, timeout: float = 30.0) -> SMTPConfig:
    """Read an ``smtp://`` or ``smtps://`` URL (see the module docstring for the rules)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"CURATION_SMTP_URL is not a URL: {exc}") from exc
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InvalidInput("CURATION_SMTP_URL must look like smtp://host:port or smtps://host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout", "helo", "cafile"}
    if unknown:
        raise InvalidInput(f"unknown CURATION_SMTP_URL options: {', '.join(sorted(unknown))}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    starttls = query.get("starttls")
    if starttls not in (None, "0", "1"):
        raise InvalidInput("starttls= must be 0 or 1")
    security: Literal["plain", "starttls", "tls"]
    if parts.scheme == "smtps":
        if starttls is not None:
            raise InvalidInput("smtps:// is TLS from the start; starttls= does not apply")
        security, default_port = "tls", 465
    elif starttls == "1" or (username and starttls is None):
        security, default_port = "starttls", 587
    elif username:
        raise InvalidInput("refusing to send SMTP credentials without TLS (drop starttls=0)")
    else:
        security, default_port = "plain", 25
    try:
        seconds = float(query.get("timeout", timeout))
    except ValueError as exc:
        raise InvalidInput("timeout= must be a number of seconds") from exc
    return SMTPConfig(
        host=parts.hostname,
        port=port or default_port,
        security=security,
        username=username,
        password=password,
        timeout=seconds,
        helo=query.get("helo"),
        cafile=query.get("cafile"),
    )


def _reply(code: int, reply: bytes | str, stage: str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{stage} refused: {code} {' '.join(text.split())}"[:500]


class SMTPTransport(_Closing):
    """Sends over one SMTP connection, opened on the first message and reused for the batch.

    Each message is one transaction (MAIL, RCPT, DATA). If the connection turns out to be dead
    before DATA (a server that timed out an idle connection), it reconnects once and goes on:
    nothing had been handed over. If it drops during DATA, the message is a
    :class:`TemporaryFailure` (the server may or may not have it) and the next message opens
    a new connection.
    """

    def __init__(self, url: str | SMTPConfig, *, sender: str, timeout: float = 30.0) -> None:
        self.config = url if isinstance(url, SMTPConfig) else parse_smtp_url(url, timeout=timeout)
        if not sender or "@" not in sender or any(c in sender for c in "\r\n <>"):
            raise InvalidInput(f"the envelope sender must be a bare address, not {sender!r}")
        self.sender = sender
        self.helo = self.config.helo or sender.rsplit("@", 1)[1]
        self._conn: smtplib.SMTP | None = None

    # ---- connection ----------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.cafile)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        conn: smtplib.SMTP | None = None
        try:
            if cfg.security == "tls":
                conn = smtplib.SMTP_SSL(
                    cfg.host,
                    cfg.port,
                    local_hostname=self.helo,
                    timeout=cfg.timeout,
                    context=self._tls_context(),
                )
            else:
                conn = smtplib.SMTP(
                    cfg.host, cfg.port, local_hostname=self.helo, timeout=cfg.timeout
                )
            conn.ehlo()
            if cfg.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise TransportUnavailable(f"{cfg.where} does not offer STARTTLS")
                conn.starttls(context=self._tls_context())
                conn.ehlo()
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except TransportUnavailable:
            _quietly_close(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(conn)
            raise TransportUnavailable(_reply(exc.smtp_code, exc.smtp_error, "login")) from exc
        except (smtplib.SMTPException, OSError) as exc:
            _quietly_close(conn)
            raise TransportUnavailable(f"cannot use the SMTP server {cfg.where}: {exc}") from exc
        self._conn = conn
        return conn

    def _drop(self) -> None:
        _quietly_close(self._conn)
        self._conn = None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
            _quietly_close(conn)

    # ---- sending -------------------------------------------------------------------------

    def send(self, msg: EmailMessage, *, to: str, key: str) -> None:
        if not to.isascii() or any(c in to for c in "\r\n <>,"):
            raise PermanentFailure(f"cannot send to {to!r}: not a plain ASCII address")
        data = message_bytes(msg)
        reused = self._conn is not None
        conn = self._conn or self._connect()
        try:
            self._envelope(conn, to)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            if not reused:
                raise TransportUnavailable(
                    f"{self.config.where} closed the connection: {exc}"
                ) from exc
            conn = self._connect()  # a stale connection from earlier in the batch: once more
            try:
                self._envelope(conn, to)
            except (smtplib.SMTPServerDisconnected, OSError) as again:
                self._drop()
                raise TransportUnavailable(
                    f"{self.config.where} closed the connection: {again}"
                ) from again
        try:
            code, reply = conn.data(data)
        except smtplib.SMTPDataError as exc:  # refused before any content was sent
            self._after_refusal(exc.smtp_code)
            raise _refusal(exc.smtp_code, exc.smtp_error, "DATA") from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TemporaryFailure(
                f"connection to {self.config.where} lost while sending; it may not have arrived:"
                f" {exc}"
            ) from exc
        if code != 250:
            self._after_refusal(code)
            raise _refusal(code, reply, "message")

    def _envelope(self, conn: smtplib.SMTP, to: str) -> None:
        code, reply = conn.mail(self.sender)
        if code != 250:
            self._after_refusal(code)
            # our sender refused: a configuration problem that no other message would escape
            raise TransportUnavailable(_reply(code, reply, "sender"))
        code, reply = conn.rcpt(to)
        if code not in (250, 251):
            self._after_refusal(code)
            raise _refusal(code, reply, "recipient")

    def _after_refusal(self, code: int) -> None:
        if code == 421:  # the server is closing the connection
            self._drop()
            return
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


def _refusal(code: int, reply: bytes | str, stage: str) -> TemporaryFailure | PermanentFailure:
    text = _reply(code, reply, stage)
    if code == 421:
        return TransportUnavailable(text)
    if code >= 500:
        return PermanentFailure(text)
    return TemporaryFailure(text)


def _quietly_close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


# ---- from settings -----------------------------------------------------------------------------


def envelope_sender(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1]


def transport_from_settings(settings: Settings) -> OutboxTransport | SMTPTransport:
    """SMTP when ``CURATION_SMTP_URL`` is set, else the outbox folder ``CURATION_OUTBOX_DIR``."""
    url = settings.smtp_url.get_secret_value().strip()
    if url:
        return SMTPTransport(url, sender=envelope_sender(settings), timeout=settings.smtp_timeout)
    return OutboxTransport(settings.outbox_dir)
