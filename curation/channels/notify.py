"""The one e-mail a person gets when one of their chat webhooks is gone (404/410): the channel
was disabled, why, and how to add it again. Sent through the configured mail transport."""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from curation.channels.addresses import mask_webhook
from curation.errors import CurationError
from curation.mail.transport import Transport
from curation.people.records import PersonRecord
from curation.settings import Settings
from curation.storage.channels import ChannelRecord
from curation.textrules import one_line

log = logging.getLogger(__name__)
_NAMES = {"slack": "Slack", "teams": "Microsoft Teams"}


def disabled_message(
    person: PersonRecord, channel: ChannelRecord, reason: str, *, settings: Settings, now: datetime
) -> EmailMessage:
    name = _NAMES.get(channel.kind, channel.kind)
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = person.email.strip()
    msg["Subject"] = f"Your {name} digest destination was turned off"
    msg["Date"] = formatdate(now.timestamp(), usegmt=True)
    msg["Message-ID"] = make_msgid(domain="curation.local")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        f"Hello {one_line(person.name) or 'there'},\n\n"
        f"Your digest is no longer posted to the {name} webhook {mask_webhook(channel.url)}:\n"
        f"{reason}.\n\n"
        "The webhook was probably removed on their side. To receive the digest there again,\n"
        "create a new incoming webhook and add it with PUT /v1/me/channels.\n"
    )
    return msg


def tell_disabled(
    transport: Transport,
    person: PersonRecord,
    channel: ChannelRecord,
    reason: str,
    *,
    settings: Settings,
    now: datetime,
) -> bool:
    """Send the notice; False (logged, not raised) when the transport refuses it."""
    message = disabled_message(person, channel, reason, settings=settings, now=now)
    try:
        transport.send(message, to=person.email.strip(), key=f"channel-{channel.id}-disabled")
    except CurationError as exc:
        log.warning("channel %s: the disabled notice was not sent: %s", channel.id, exc.detail)
        return False
    return True
