"""Rendering a digest e-mail (no server): content, escaping, headers, injection; the outbox;
and the SMTP URL rules."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from curation.digest.view import DigestView
from curation.errors import InvalidInput
from curation.mail.errors import PermanentFailure
from curation.mail.render import header_text, render_digest
from curation.mail.tokens import verify
from curation.mail.transport import (
    WIRE_POLICY,
    OutboxTransport,
    message_bytes,
    parse_smtp_url,
)
from curation.people.records import PersonRecord
from tests.helpers.digests import NOW, SAMPLE, SECRET, digest, entry, person

BASE = "https://curation.example.org"
INJECTIONS = [
    "Ada\r\nBcc: x@evil.example",
    "Ada\nBcc: x@evil.example",
    "=?utf-8?q?x=0D=0ABcc:_evil@example.org?=",
    "Ada =?utf-8?b?DQpCY2M6IGV2aWxAZXhhbXBsZS5vcmc=?= Lovelace",
    "Ada\u2028Bcc: x@evil.example",
    "Ada\x85Bcc: x@evil.example",
]


def render(view: DigestView, who: PersonRecord | None = None, **kw):
    return render_digest(view, who or person(), base_url=BASE, token_secret=SECRET, now=NOW, **kw)


def reparsed(msg):
    return BytesParser(policy=policy.default).parsebytes(message_bytes(msg))


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if line and line[0] not in " \t"]


def test_multipart_with_every_title_why_and_gem_note_in_both_parts() -> None:
    msg = reparsed(render(SAMPLE))
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for e in (*SAMPLE.sections[0].items, *SAMPLE.sections[1].items):
        assert e.item.title in text
        assert e.why in text
        assert e.item.excerpt in text
    assert "Read the <second> half first" in text and "Grace" in text
    assert "Curator's note from Grace" in html and "Read the &lt;second&gt; half first" in html
    assert "because of &lt;interest 1&gt;" in html
    assert msg["Subject"] == "Your digest for 2 Nov: 3 items"


def test_html_escapes_titles_and_inlines_css() -> None:
    html = reparsed(render(SAMPLE)).get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; friends" in html
    assert "Example &lt;Feed&gt;" in html
    assert "<style" not in html
    assert html.count('style="') > 10
    assert re.search(r'<h3 class="title" style="[^"]*font-size', html)


def test_each_item_has_signed_feedback_links_and_an_unsubscribe_link() -> None:
    msg = reparsed(render(SAMPLE))
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    tokens = re.findall(rf"{BASE}/v1/email/feedback\?token=([\w.-]+)", text)
    claims = {}
    for token in tokens:
        claim = verify(SECRET, token, now=NOW, actions=("useful", "not_useful"))
        claims[(claim.item_id, claim.action)] = token
        assert claim.person_id == 7
        assert f"token={token}" in html
    assert len(tokens) == len(claims) == 6
    assert set(claims) == {(i, a) for i in (1, 2, 3) for a in ("useful", "not_useful")}
    claim = verify(
        SECRET,
        re.search(r"unsubscribe\?token=([\w.-]+)", text).group(1),
        now=NOW + timedelta(days=300),
        actions=("unsubscribe",),
    )
    assert claim.person_id == 7
    assert f"{BASE}/v1/email/unsubscribe?token=" in html


def test_list_unsubscribe_headers_rfc_8058() -> None:
    raw = message_bytes(render(SAMPLE, unsubscribe_mailto="unsubscribe@example.org"))
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    value = msg["List-Unsubscribe"]
    assert re.fullmatch(
        rf"<{re.escape(BASE)}/v1/email/unsubscribe\?token=[\w.-]+>,"
        r" <mailto:unsubscribe@example.org\?subject=unsubscribe>",
        str(value),
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"=?" not in raw.split(b"\r\n\r\n")[0]  # no header folded into encoded words
    assert msg["Message-ID"] == "<digest.42.7@localhost>"
    assert msg["From"] == "curation <digest@localhost>"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize("name", INJECTIONS)
def test_names_and_titles_cannot_add_headers(name: str) -> None:
    view = digest(entry(1, name), entry(2, f"x\r\nSubject: {name}"))
    raw = message_bytes(render(view, person(name=name)))
    assert header_names(raw) == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "Auto-Submitted",
        "MIME-Version",
        "Content-Type",
    ]
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert msg["Bcc"] is None and msg["Cc"] is None
    to = msg["To"]
    assert [a.addr_spec for a in to.addresses] == ["ada@example.org"]
    assert "\n" not in str(to) and "\r" not in str(to)
    assert "Bcc" not in msg["Subject"]


def test_header_text_flattens_and_defuses_encoded_words() -> None:
    assert header_text("a\r\n b\tc\u2029d") == "a b c d"
    assert "=?" not in header_text("=?utf-8?q?=0A?=")
    assert len(header_text("x" * 1000)) == 120


def test_non_ascii_names_are_encoded_safely() -> None:
    msg = reparsed(render(SAMPLE, person(name="Zoë Ñandú 学生")))
    assert str(msg["To"]) == "Zoë Ñandú 学生 <ada@example.org>"
    assert "Hi Zoë Ñandú 学生" in msg.get_body(("plain",)).get_content()


def test_recipient_must_be_one_plain_address() -> None:
    for bad in ["a@example.org, b@example.org", "a@example.org\r\nBcc: b@x", "no-at-sign", ""]:
        with pytest.raises(PermanentFailure):
            render(SAMPLE, person(email=bad))


def test_only_web_links_are_linked() -> None:
    view = digest(entry(1, "Sneaky", url="javascript:alert(1)"), entry(2, "Data", url="data:x"))
    msg = reparsed(render(view))
    html = msg.get_body(("html",)).get_content()
    assert "javascript:" not in html and "data:x" not in html
    assert "Sneaky" in html


def test_subject_counts_and_refuses_someone_elses_digest() -> None:
    one = digest(entry(1, "Only"))
    assert render(one)["Subject"] == "Your digest for 2 Nov: 1 item"
    with pytest.raises(PermanentFailure):
        render(replace(one, person_id=8))


# ---- outbox --------------------------------------------------------------------------------------


def test_outbox_writes_one_file_per_digest_atomically(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    msg = render(SAMPLE)
    outbox.send(msg, to="ada@example.org", key="digest-42")
    outbox.send(msg, to="ada@example.org", key="digest-42")  # a resend replaces, never adds
    outbox.send(render(digest(entry(5, "Other"))), to="ada@example.org", key="digest-43")
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert files == ["digest-42.eml", "digest-43.eml"]
    parsed = BytesParser(policy=policy.default).parsebytes(
        (tmp_path / "outbox" / "digest-42.eml").read_bytes()
    )
    assert parsed["Subject"] == "Your digest for 2 Nov: 3 items"
    with pytest.raises(ValueError):
        outbox.send(msg, to="ada@example.org", key="../escape")


# ---- SMTP URLs -----------------------------------------------------------------------------------


def test_smtp_url_rules() -> None:
    plain = parse_smtp_url("smtp://relay.local")
    assert (plain.security, plain.port, plain.username) == ("plain", 25, None)
    sub = parse_smtp_url("smtp://us%40er:p%40ss%3Aw%2Frd@mail.example.org")
    assert (sub.security, sub.port, sub.username, sub.password) == (
        "starttls",
        587,
        "us@er",
        "p@ss:w/rd",
    )
    assert parse_smtp_url("smtp://mail.example.org:2525?starttls=1").security == "starttls"
    tls = parse_smtp_url("smtps://u:p@mail.example.org?timeout=5&helo=me.example.org")
    assert (tls.security, tls.port, tls.timeout, tls.helo) == ("tls", 465, 5.0, "me.example.org")
    assert "p@ss" not in parse_smtp_url("smtp://u:p%40ss@h").where
    for bad in [
        "http://mail.example.org",
        "smtp://",
        "smtp://u:p@h?starttls=0",  # never a password in the clear
        "smtps://h?starttls=1",
        "smtp://h?retries=3",
        "smtp://h:notaport",
    ]:
        with pytest.raises(InvalidInput):
            parse_smtp_url(bad)


def test_bad_mail_settings_are_refused_before_any_digest(tmp_path: Path) -> None:
    from curation.mail.render import make_renderer
    from curation.settings import Settings

    ok = Settings(secret_key=SECRET, public_base_url="https://c.example.org/base/")
    assert make_renderer(ok, now=NOW)(SAMPLE, person())["List-Unsubscribe"].startswith(
        "<https://c.example.org/base/v1/email/unsubscribe?token="
    )
    for bad in [
        {"public_base_url": "ftp://c.example.org"},
        {"public_base_url": "https://c.example.org/a b"},
        {"public_base_url": "https://c.example.org/?x=1"},
        {"public_base_url": "https://exämple.org"},
        {"mail_from": "not an address"},
        {"mail_from": "digest@exämple.org"},
    ]:
        with pytest.raises(InvalidInput):
            make_renderer(Settings(secret_key=SECRET, **bad))


def test_transport_from_settings_and_env_names(monkeypatch, tmp_path: Path) -> None:
    from curation.mail.transport import SMTPTransport, transport_from_settings
    from curation.settings import get_settings

    monkeypatch.setenv("CURATION_OUTBOX_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CURATION_MAIL_FROM", "Digests <news@example.org>")
    outbox = transport_from_settings(get_settings())
    assert isinstance(outbox, OutboxTransport) and outbox.directory == tmp_path / "out"

    monkeypatch.setenv("CURATION_SMTP_URL", "smtp://u:hunter2@mail.example.org")
    settings = get_settings()
    assert "hunter2" not in repr(settings)  # the password stays out of logs
    smtp = transport_from_settings(settings)
    assert isinstance(smtp, SMTPTransport)
    assert (smtp.config.security, smtp.sender, smtp.helo) == (
        "starttls",
        "news@example.org",
        "example.org",
    )


# ---- the wire form ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Ada Lovelace", "ada@example.org"),
        ("Person 12", "p12@mail.example.co"),
        ("", "a.b+c@example.org"),
        ("ALL CAPS 99", "weird!#$%&'*+/=?^_`{|}~-@x.org"),
        ("Ada L. Lovelace", "ada@example.org"),  # from here on: not plain, the registry's way
        ("O'Brien, Ann", "ann@example.org"),
        ("Zoë Ñandú 学生", "ada@example.org"),
        ("x" * 119, "ada@example.org"),
    ],
)
def test_the_recipient_header_is_what_the_header_registry_writes(name: str, email: str) -> None:
    lines = message_bytes(render(SAMPLE, person(name=name, email=email))).split(b"\r\n")
    start = next(n for n, line in enumerate(lines) if line.startswith(b"To: "))
    end = next(n for n in range(start + 1, len(lines)) if not lines[n].startswith(b" "))
    expected = policy.SMTP.header_factory(
        "To", Address(display_name=header_text(name), addr_spec=email)
    ).fold(policy=WIRE_POLICY)
    assert b"".join(line + b"\r\n" for line in lines[start:end]) == expected.encode("ascii")


def test_message_bytes_are_what_as_bytes_writes() -> None:
    """The one-pass line ends give the stdlib generator's bytes, whatever the body's line ends."""
    rendered = render(SAMPLE)
    assert message_bytes(rendered) == rendered.as_bytes(policy=WIRE_POLICY)
    plain = EmailMessage()
    plain["Subject"] = "line ends"
    plain.set_content("one\ntwo\r\nthree\rfour\n\nfive")
    assert message_bytes(plain) == plain.as_bytes(policy=WIRE_POLICY)
    assert b"one\r\ntwo\r\nthree\r\nfour\r\n\r\nfive" in message_bytes(plain)
