"""Render a digest as an e-mail: multipart text + HTML from the template files beside this module.

The e-mail is rendered from the same :class:`DigestView` the API returns. Titles, names, notes
and reasons are plain text everywhere: the HTML template autoescapes them, the text template
gets them on one line each, and the only ones that reach a header (the recipient's name) are
cleaned by :func:`header_text` first. Python's ``email`` package before 3.11.10 would fold an
encoded word that decodes to CR/LF straight into a new header (CVE-2024-6923), so the cleaning
also defuses ``=?``; the recipient header is checked again after parsing, and every other
header is composed by us from printable ASCII and set verbatim (:func:`_assemble`).

The recipient comes only from our own :class:`PersonRecord`; transports send to that address
alone, never to addresses read back from headers.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from curation.digest.view import DigestView, EntryView
from curation.errors import InvalidInput
from curation.mail.errors import PermanentFailure
from curation.mail.tokens import load_secret, sign
from curation.people.records import PersonRecord
from curation.settings import Settings
from curation.textrules import one_line
from curation.weblinks import web_url

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_FROM = "curation <digest@localhost>"
FEEDBACK_PATH = "/v1/email/feedback"
UNSUBSCRIBE_PATH = "/v1/email/unsubscribe"
SHARE_PATH = "/v1/email/share"  # "Share with my team": a note form (mail/links.py)
SAVE_PATH = "/v1/email/save"  # "Save for later": the saved signal, confirmed (mail/links.py)
OPEN_PATH = "/v1/email/open"  # item links: a signed redirect that counts opens (mail/opens.py)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_NAME_CHARS = 120
_PRINTABLE = re.compile(r"[\x20-\x7e]{1,900}")
_HEADER_POLICY = policy.SMTP.clone(max_line_length=998)

Renderer = Callable[[DigestView, PersonRecord], EmailMessage]


@dataclass(frozen=True, slots=True)
class EntryText:
    """One digest entry as the e-mail and the chat posts (:mod:`curation.channels.content`)
    show it: plain text on one line each, the item link and the one-click feedback links."""

    title: str
    url: str | None
    source: str | None
    excerpt: str
    why: str
    gem_note: str | None
    curator: str | None
    useful_url: str
    not_useful_url: str
    share_url: str | None = None  # "Share with my team" (opens a note form)
    save_url: str | None = None  # "Save for later": confirms, then records the saved signal
    shared_by: str | None = None  # in the team section: who shared it, and their note
    share_note: str | None = None


@dataclass(frozen=True, slots=True)
class SectionText:
    title: str
    entries: tuple[EntryText, ...]


# ---- plain text helpers ------------------------------------------------------------------------


def header_text(value: str | None, limit: int = MAX_NAME_CHARS) -> str:
    """Plain text that is safe inside a header: one line, no encoded-word syntax, bounded."""
    text = one_line(value)[:limit]
    return text.replace("=?", "= ?")  # an RFC 2047 encoded word would be decoded, then folded


def date_label(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.day} {_MONTHS[d.month - 1]}"


def subject_for(view: DigestView) -> str:
    count = view.item_count
    return f"Your digest for {date_label(view.date)}: {count} item{'' if count == 1 else 's'}"


def feedback_links(
    person: PersonRecord, *, base_url: str, token_secret: str, until: datetime
) -> Callable[[str, int], str]:
    """``link(action, item_id)``: a signed one-click feedback link for ``person``, valid until
    ``until`` (handled by :mod:`curation.mail.links`); ``share`` makes the link of the
    "Share with my team" form."""
    base = base_url.rstrip("/")

    def link(action: str, item_id: int) -> str:
        token = sign(
            token_secret, action, person.id, item_id, until, person_created_at=person.created_at
        )
        path = {"share": SHARE_PATH, "saved": SAVE_PATH}.get(action, FEEDBACK_PATH)
        return f"{base}{path}?token={token}"

    return link


def sections_text(
    view: DigestView,
    *,
    item_url: Callable[[EntryView], str | None],
    feedback: Callable[[str, int], str],
) -> tuple[SectionText, ...]:
    """The non-empty sections of ``view`` as :class:`SectionText`; ``item_url`` says where each
    item's title links to, ``feedback`` builds the feedback links (:func:`feedback_links`)."""

    def entry(e: EntryView) -> EntryText:
        source = e.item.source
        return EntryText(
            title=one_line(e.item.title) or "(untitled)",
            url=item_url(e),
            source=one_line(source.title) if source and source.title else None,
            excerpt=one_line(e.item.excerpt),
            why=one_line(e.why),
            gem_note=one_line(e.gem.note) if e.gem and e.gem.note else None,
            curator=one_line(e.gem.curator) if e.gem and e.gem.curator else None,
            useful_url=feedback("useful", e.item.id),
            not_useful_url=feedback("not_useful", e.item.id),
            share_url=feedback("share", e.item.id),
            save_url=feedback("saved", e.item.id),
            shared_by=one_line(e.shared_by) if e.shared_by else None,
            share_note=one_line(e.note) if e.note else None,
        )

    return tuple(
        SectionText(one_line(s.title), tuple(entry(e) for e in s.items))
        for s in view.sections
        if s.items
    )


# ---- templates ---------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def render_page(name: str, **context: object) -> str:
    """One of the small HTML pages the e-mail links open (``templates/<name>``), CSS inlined."""
    return _inliner().inline(_environment().get_template(name).render(**context))


@cache
def _sender(mail_from: str) -> tuple[str, str]:
    """The From header as it goes on the wire, and the domain for Message-IDs (checked once)."""
    name, addr = parseaddr(mail_from)
    if "\r" in mail_from or "\n" in mail_from or "@" not in addr or not addr.isascii():
        raise InvalidInput(f"CURATION_MAIL_FROM is not a plain address: {mail_from!r}")
    header = policy.SMTP.header_factory(
        "From", Address(display_name=header_text(name), addr_spec=addr)
    )
    wire = header.fold(policy=_HEADER_POLICY).split(":", 1)[1].strip()
    return wire, addr.rsplit("@", 1)[1]


# A display name of plain words and a dot-atom address go on the wire as they are: exactly what
# the header registry writes for them, without its parse and fold (checked by the tests)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def _recipient(person: PersonRecord) -> str:
    """The To header's value as it goes on the wire: the person's name and address, RFC 2047
    encoded where needed; refused when the parsed value would hold a line break."""
    email = person.email.strip()
    name = header_text(person.name)
    if _PLAIN_ADDRESS.fullmatch(email) and (not name or _PLAIN_NAME.fullmatch(name)):
        return f"{name} <{email}>" if name else email
    try:
        if any(ch in email for ch in '\r\n\t ,;<>"'):
            raise ValueError("unexpected characters")
        address = Address(display_name=name, addr_spec=email)
    except (ValueError, IndexError) as exc:
        raise PermanentFailure(
            f"person {person.id} has no usable e-mail address", resource_id=person.id
        ) from exc
    header = policy.SMTP.header_factory("To", address)
    if "\r" in str(header) or "\n" in str(header):
        raise PermanentFailure("refusing a To header that contains a line break")
    return header.fold(policy=_HEADER_POLICY).split(":", 1)[1].strip()


def _set_ascii(msg: EmailMessage, name: str, value: str) -> None:
    """Set a header we composed ourselves, as is: printable ASCII on one line, nothing else."""
    if not _PRINTABLE.fullmatch(value):
        raise PermanentFailure(f"refusing a {name} header with unexpected characters")
    msg.set_raw(name, value)


def _text_part(body: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=policy.SMTP)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _assemble(
    *, sender: str, to: str, headers: dict[str, str], text: str, html: str
) -> EmailMessage:
    """The message: our headers, then text and HTML as multipart/alternative.

    Every header is set as the text that goes on the wire (serialising then only copies it;
    reading one parses it): the recipient as :func:`_recipient` checked and encoded it, the
    others composed by us from printable ASCII. Bodies are quoted-printable (lines of at most
    76 characters); the boundary starts with ``==``, which quoted-printable text can never
    contain.
    """
    msg = EmailMessage(policy=policy.SMTP)
    msg.set_raw("From", sender)
    msg.set_raw("To", to)
    for name, value in headers.items():
        _set_ascii(msg, name, value)
    msg.set_raw("MIME-Version", "1.0")
    boundary = f"==curation-{secrets.token_hex(12)}=="
    msg.set_raw("Content-Type", f'multipart/alternative; boundary="{boundary}"')
    msg.set_payload([_text_part(text, "plain"), _text_part(html, "html")])
    return msg


# ---- the message -------------------------------------------------------------------------------


def render_digest(
    view: DigestView,
    person: PersonRecord,
    *,
    base_url: str,
    token_secret: str,
    now: datetime,
    mail_from: str = DEFAULT_FROM,
    feedback_days: int = 30,
    unsubscribe_days: int = 365,
    unsubscribe_mailto: str | None = None,
) -> EmailMessage:
    """The digest e-mail for ``person``: text and HTML alternatives, one-click links, headers."""
    if view.person_id != person.id:
        raise PermanentFailure(
            f"digest {view.id} belongs to person {view.person_id}, not {person.id}",
            resource_id=view.id,
        )
    base = base_url.rstrip("/")
    feedback_until = now + timedelta(days=feedback_days)

    def open_url(e: EntryView) -> str | None:
        """The item's link through our counting redirect (none for items without a web URL)."""
        if web_url(e.item.url) is None:
            return None
        token = sign(
            token_secret,
            "open",
            person.id,
            e.item.id,
            feedback_until,
            person_created_at=person.created_at,
        )
        return f"{base}{OPEN_PATH}?token={token}"

    unsubscribe_token = sign(
        token_secret,
        "unsubscribe",
        person.id,
        0,
        now + timedelta(days=unsubscribe_days),
        person_created_at=person.created_at,
    )
    unsubscribe_url = f"{base}{UNSUBSCRIBE_PATH}?token={unsubscribe_token}"
    subject = subject_for(view)
    count = view.item_count
    context = {
        "subject": subject,
        "date_label": date_label(view.date),
        "name": one_line(person.name) or "there",
        "count": count,
        "count_label": f"{count} item{'' if count == 1 else 's'}",
        "sections": sections_text(
            view,
            item_url=open_url,
            feedback=feedback_links(
                person, base_url=base, token_secret=token_secret, until=feedback_until
            ),
        ),
        "unsubscribe_url": unsubscribe_url,
    }
    env = _environment()
    text = env.get_template("digest.txt").render(**context)
    html = _inliner().inline(env.get_template("digest.html").render(**context))

    sender, domain = _sender(mail_from)
    unsubscribe = f"<{unsubscribe_url}>"
    if unsubscribe_mailto:
        mailto = quote(one_line(unsubscribe_mailto), safe="@")
        unsubscribe += f", <mailto:{mailto}?subject=unsubscribe>"
    return _assemble(
        sender=sender,
        to=_recipient(person),
        headers={
            "Subject": subject,
            "Date": format_datetime(now.astimezone(UTC)),
            # The same digest always gets the same Message-ID, so a copy resent after a crash
            # at the SMTP boundary can be recognised as a duplicate by the receiving side.
            "Message-ID": f"<digest.{view.id}.{person.id}@{domain}>",
            "List-Id": f"curation digest <digest.{domain}>",
            "List-Unsubscribe": unsubscribe,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
        text=text,
        html=html,
    )


def make_renderer(
    settings: Settings, *, secret: str | None = None, now: datetime | None = None
) -> Renderer:
    """``render_digest`` bound to the settings (what :func:`deliver_pending` takes).

    Links expire relative to ``now``, or to the time of rendering when it is None. A bad
    ``CURATION_PUBLIC_BASE_URL`` or ``CURATION_MAIL_FROM`` is refused here, before any digest
    is claimed, rather than failing every digest one by one.
    """
    base = settings.base_url
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or not _PRINTABLE.fullmatch(base)
        or " " in base
    ):
        raise InvalidInput(
            "CURATION_PUBLIC_BASE_URL must be an http(s) URL like https://curation.example.org"
        )
    _sender(settings.mail_from)
    token_secret = secret or load_secret(settings)
    mailto = settings.email_unsubscribe_mailto or None

    def render(view: DigestView, person: PersonRecord) -> EmailMessage:
        return render_digest(
            view,
            person,
            base_url=base,
            token_secret=token_secret,
            now=now or datetime.now(UTC),
            mail_from=settings.mail_from,
            feedback_days=settings.email_feedback_link_days,
            unsubscribe_days=settings.email_unsubscribe_link_days,
            unsubscribe_mailto=mailto,
        )

    return render
