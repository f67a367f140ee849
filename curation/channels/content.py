"""What a chat post of a digest says: the recorded :class:`DigestView` the e-mail renders, with
the same one-click feedback links (signed tokens to ``/v1/email/feedback``, handled by
:mod:`curation.mail.links`), as plain data that :mod:`.slack` and :mod:`.teams` lay out.

Item titles link to the item itself (the e-mail's counting redirect counts opens *from
e-mails*, so chat posts do not use it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from curation.digest.view import DigestView, EntryView
from curation.mail.render import (
    EntryText,
    SectionText,
    feedback_links,
    sections_text,
    subject_for,
)
from curation.people.records import PersonRecord
from curation.weblinks import web_url

PostEntry = EntryText  # a post shows the same entry text as the e-mail (its excerpt goes unused)
PostSection = SectionText


@dataclass(frozen=True, slots=True)
class PostContent:
    digest_id: int
    heading: str  # "Your digest for 2 Nov: 3 items"
    sections: tuple[PostSection, ...]


Composer = Callable[[DigestView, PersonRecord], PostContent]


def _item_link(e: EntryView) -> str | None:
    return web_url(e.item.url)


def compose(
    view: DigestView,
    person: PersonRecord,
    *,
    base_url: str,
    token_secret: str,
    now: datetime,
    feedback_days: int = 30,
) -> PostContent:
    """The post's content for ``person``'s recorded digest ``view``."""
    feedback = feedback_links(
        person,
        base_url=base_url,
        token_secret=token_secret,
        until=now + timedelta(days=feedback_days),
    )
    return PostContent(
        digest_id=view.id,
        heading=subject_for(view),
        sections=sections_text(view, item_url=_item_link, feedback=feedback),
    )
