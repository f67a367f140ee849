"""xAPI statements for what people do with items. Pure: data in, JSON-ready dicts out.

**Statement ids** are ``uuid5`` of a fixed namespace and ``person/item/verb/when`` (``when``:
the digest's day for *received*, the reaction's or open's time otherwise), so collecting the
same event again, or posting it again after a lost answer, never makes a second statement.

**Actor**: an ``account`` — ``{homePage: base URL, name: person id}`` — not the e-mail address:
a person's id never changes while an admin may change their e-mail (one person stays one actor
in the LRS), and no e-mail address leaves the service.

**Object**: the item as an Activity; its id is the item's http(s) URL when it has one (the same
article is then one activity across services), else an IRI under the base URL; the definition
carries the title (``name``) and ``moreInfo`` (the URL).

**Verbs** (from the xAPI registry's vocabularies; checked 2026-12):

=============  =============================================  ============================
event          verb IRI                                       vocabulary
=============  =============================================  ============================
received       ``http://activitystrea.ms/schema/1.0/receive``  Activity Streams 1.0
useful         ``http://activitystrea.ms/schema/1.0/like``     Activity Streams 1.0
not_useful     ``http://activitystrea.ms/schema/1.0/dislike``  Activity Streams 1.0
saved          ``http://activitystrea.ms/schema/1.0/save``     Activity Streams 1.0
opened         ``http://adlnet.gov/expapi/verbs/experienced``  ADL
shared         ``http://activitystrea.ms/schema/1.0/share``    Activity Streams 1.0
=============  =============================================  ============================

*shared*: the person passed the item on to one of their teams (``when``: the share's time).
"""

from __future__ import annotations

import uuid

from curation.storage.xapi import Event
from curation.weblinks import web_url

#: the namespace of every statement id (fixed: a changed base URL must not change ids)
STATEMENT_NAMESPACE = uuid.UUID("5d6a2b1e-7f0c-4c1a-9a57-6a3c0b1f9e14")
XAPI_VERSION = "1.0.3"
ARTICLE = "http://activitystrea.ms/schema/1.0/article"
PLATFORM = "curation"

VERBS: dict[str, tuple[str, str]] = {
    "received": ("http://activitystrea.ms/schema/1.0/receive", "received"),
    "useful": ("http://activitystrea.ms/schema/1.0/like", "marked useful"),
    "not_useful": ("http://activitystrea.ms/schema/1.0/dislike", "marked not for me"),
    "saved": ("http://activitystrea.ms/schema/1.0/save", "saved"),
    "opened": ("http://adlnet.gov/expapi/verbs/experienced", "opened"),
    "shared": ("http://activitystrea.ms/schema/1.0/share", "shared"),
}


def statement_id(event: Event) -> str:
    when = event.day if event.kind == "received" and event.day else event.at.isoformat()
    name = f"{event.person_id}/{event.item_id}/{event.kind}/{when}"
    return str(uuid.uuid5(STATEMENT_NAMESPACE, name))


def activity_id(base_url: str, event: Event) -> str:
    return web_url(event.url) or f"{base_url.rstrip('/')}/v1/items/{event.item_id}"


def _timestamp(event: Event) -> str:
    return event.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def statement(event: Event, *, base_url: str) -> dict:
    """The statement as sent (``id`` set: the LRS keeps it, a retry is recognised)."""
    verb_id, display = VERBS[event.kind]
    definition: dict[str, object] = {
        "type": ARTICLE,
        "name": {"en": event.title or "(untitled)"},
    }
    link = web_url(event.url)
    if link:
        definition["moreInfo"] = link
    out: dict[str, object] = {
        "id": statement_id(event),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": base_url.rstrip("/"), "name": str(event.person_id)},
        },
        "verb": {"id": verb_id, "display": {"en": display}},
        "object": {
            "objectType": "Activity",
            "id": activity_id(base_url, event),
            "definition": definition,
        },
        "timestamp": _timestamp(event),
        "context": {"platform": PLATFORM, "language": "en"},
    }
    if event.kind == "received" and event.day:
        out["context"]["extensions"] = {  # type: ignore[index]
            f"{base_url.rstrip('/')}/xapi/extensions/digest-day": event.day
        }
    return out
