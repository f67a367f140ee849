"""A real SMTP server in this process, for the e-mail tests.

:class:`MailServer` runs aiosmtpd on 127.0.0.1 with a free port. Its handler records every
message it accepts and can be told to answer the Nth DATA (or any DATA to an address) with
451, 554, 421, or by dropping the connection mid-transaction. Optionally it speaks implicit TLS
or requires STARTTLS and a login, with a self-signed certificate made by ``openssl``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers.net import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class Handler:
    """Records accepted messages; ``faults`` maps the Nth DATA (1-based) or a recipient to a
    fault: ``"451"``, ``"554"``, ``"421"``, ``"drop"`` (close before replying), or
    ``"accept-drop"`` (keep the message, then drop: the at-least-once window)."""

    received: list[Received] = field(default_factory=list)
    faults: dict[int | str, str] = field(default_factory=dict)
    data_commands: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self.lock:
            self.data_commands += 1
            fault = self.faults.pop(self.data_commands, None)
            for rcpt in envelope.rcpt_tos:
                fault = fault or self.faults.get(rcpt)
            if fault in (None, "accept-drop"):
                self.received.append(
                    Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
                )
        if fault == "drop" or fault == "accept-drop":
            server.transport.close()
            return "250 never seen"
        if fault == "451":
            return "451 4.3.0 try again later"
        if fault == "554":
            return "554 5.7.1 message refused as spam"
        if fault == "421":
            return "421 4.3.2 shutting down"
        return "250 2.0.0 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, password))
            ok = login == "digest" and password == "p@ss:w/rd"
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    def by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.received:
            for rcpt in r.rcpt_tos:
                counts[rcpt] = counts.get(rcpt, 0) + 1
        return counts


class MailServer:
    def __init__(
        self, *, port: int | None = None, login: bool = False, **smtp_options: object
    ) -> None:
        self.handler = Handler()
        self.port = port or free_port()
        if login:  # AUTH PLAIN/LOGIN, only after STARTTLS; the handler checks the password
            smtp_options.update(authenticator=self.handler.authenticate, auth_require_tls=True)
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **smtp_options
        )

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def self_signed_cert(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 and its key, or None without the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
