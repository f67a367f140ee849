"""SMTP with TLS and a login: STARTTLS (required with credentials), implicit TLS, refusals.

The server is aiosmtpd with a self-signed certificate for 127.0.0.1 made by ``openssl``;
the client trusts it through ``?cafile=``, so certificates are verified as in production.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from curation.mail.errors import TransportUnavailable
from curation.mail.render import render_digest
from curation.mail.transport import SMTPTransport
from tests.helpers.digests import NOW, SAMPLE, SECRET, person
from tests.helpers.smtp import MailServer, self_signed_cert

PASSWORD = "p%40ss%3Aw%2Frd"  # p@ss:w/rd, percent-encoded in the URL


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    pair = self_signed_cert(tmp_path)
    if pair is None:
        pytest.skip("the openssl command is not installed")
    return pair


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


@pytest.fixture
def starttls_server(cert: tuple[Path, Path]) -> Iterator[MailServer]:
    with MailServer(login=True, tls_context=server_context(cert), require_starttls=True) as server:
        yield server


def message():
    return render_digest(SAMPLE, person(), base_url="http://x", token_secret=SECRET, now=NOW)


def test_starttls_with_login(starttls_server: MailServer, cert) -> None:
    url = f"smtp://digest:{PASSWORD}@127.0.0.1:{starttls_server.port}?cafile={cert[0]}"
    with SMTPTransport(url, sender="digest@localhost") as transport:
        transport.send(message(), to="ada@example.org", key="digest-42")
        transport.send(message(), to="bob@example.org", key="digest-43")  # same connection
    assert starttls_server.handler.logins == [("digest", "p@ss:w/rd")]
    assert [r.rcpt_tos for r in starttls_server.received] == [
        ["ada@example.org"],
        ["bob@example.org"],
    ]


def test_wrong_password_or_untrusted_certificate_is_unavailable(
    starttls_server: MailServer, cert
) -> None:
    port = starttls_server.port
    bad_login = f"smtp://digest:nope@127.0.0.1:{port}?cafile={cert[0]}"
    with (
        SMTPTransport(bad_login, sender="digest@localhost") as transport,
        pytest.raises(TransportUnavailable, match="login refused: 535"),
    ):
        transport.send(message(), to="ada@example.org", key="digest-42")
    untrusted = f"smtp://digest:{PASSWORD}@127.0.0.1:{port}"  # the system CAs do not know it
    with (
        SMTPTransport(untrusted, sender="digest@localhost") as transport,
        pytest.raises(TransportUnavailable, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        transport.send(message(), to="ada@example.org", key="digest-42")
    assert starttls_server.received == []


def test_starttls_required_but_not_offered() -> None:
    plain = MailServer().start()
    try:
        url = f"smtp://digest:{PASSWORD}@127.0.0.1:{plain.port}"
        with (
            SMTPTransport(url, sender="digest@localhost") as transport,
            pytest.raises(TransportUnavailable, match="does not offer STARTTLS"),
        ):
            transport.send(message(), to="ada@example.org", key="digest-42")
        assert plain.received == []
    finally:
        plain.stop()


def test_implicit_tls(cert) -> None:
    server = MailServer(ssl_context=server_context(cert)).start()
    try:
        url = f"smtps://127.0.0.1:{server.port}?cafile={cert[0]}"
        with SMTPTransport(url, sender="digest@localhost") as transport:
            transport.send(message(), to="ada@example.org", key="digest-42")
        assert [r.rcpt_tos for r in server.received] == [["ada@example.org"]]
    finally:
        server.stop()
