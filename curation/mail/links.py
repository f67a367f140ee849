"""What the links in a digest e-mail do when followed: feedback and unsubscribe, no login.

Following a link (GET, or a link checker's HEAD) never changes anything: mail scanners follow
every link in a message. It checks the token and shows a small page with one button, a form
that POSTs the token back; only that POST acts. The ``List-Unsubscribe`` header's URL also takes
the RFC 8058 one-click POST directly (``List-Unsubscribe-Post: List-Unsubscribe=One-Click``).

The HTTP edge (``app/routes/email_links.py``) only turns requests into these calls and the results
(or the errors) into small HTML pages rendered from ``templates/page.html``.
"""

from __future__ import annotations

from datetime import datetime

from curation.errors import NotFound
from curation.mail.render import FEEDBACK_PATH, UNSUBSCRIBE_PATH, render_page
from curation.mail.tokens import LinkClaim, held_by, verify
from curation.people.records import PersonRecord
from curation.storage.items import ItemQueries
from curation.storage.people import PeopleStore

FEEDBACK_ACTIONS = ("useful", "not_useful")
_THANKS = {
    "useful": "Thanks: you will see more like this.",
    "not_useful": "Thanks: you will see less like this.",
}
_ASK = {
    "useful": ("More like this?", "Tell us this item was useful: you will see more like it."),
    "not_useful": ("Less like this?", "Tell us this item was not for you: you will see less."),
}
_BUTTON = {"useful": "Yes, more like this", "not_useful": "Yes, less like this"}


class EmailLinks:
    def __init__(self, people: PeopleStore, secret: str, items: ItemQueries | None = None) -> None:
        self.people = people
        self.secret = secret
        self.items = items

    def check_feedback(self, token: str, *, now: datetime) -> LinkClaim:
        """A feedback link that would work (its person and item exist); records nothing."""
        claim = verify(self.secret, token, now=now, actions=FEEDBACK_ACTIONS)
        self._holder(claim)
        if self.items is not None and not self.items.exists(claim.item_id):
            raise NotFound(f"item {claim.item_id} does not exist", resource_id=claim.item_id)
        return claim

    def feedback(self, token: str, *, now: datetime) -> LinkClaim:
        """Record the useful / not-for-me reaction (the latest on an item wins); for the POST
        of the confirmation page only."""
        claim = verify(self.secret, token, now=now, actions=FEEDBACK_ACTIONS)
        self._holder(claim)
        self.people.record_feedback(claim.person_id, claim.item_id, claim.action)
        return claim

    def check_unsubscribe(self, token: str, *, now: datetime) -> LinkClaim:
        claim = verify(self.secret, token, now=now, actions=("unsubscribe",))
        self._holder(claim)
        return claim

    def unsubscribe(self, token: str, *, now: datetime) -> None:
        """Stop digest e-mails for the token's person (idempotent)."""
        claim = verify(self.secret, token, now=now, actions=("unsubscribe",))
        self._holder(claim)
        self.people.update(claim.person_id, email_digests=False)

    def _holder(self, claim: LinkClaim) -> PersonRecord:
        """The person the link was made for; NotFound once they are gone, also when their id
        now names someone else (who learns nothing from the answer)."""
        try:
            person = self.people.get(claim.person_id)
        except NotFound:
            person = None
        if person is None or not held_by(self.secret, claim, person.created_at):
            raise NotFound(
                "the account this link was made for no longer exists",
                resource_id=claim.person_id,
            )
        return person


# ---- pages -------------------------------------------------------------------------------------


def thanks_page(claim: LinkClaim) -> str:
    return render_page("page.html", title="Noted", message=_THANKS[claim.action])


def confirm_feedback_page(token: str, claim: LinkClaim) -> str:
    """The page a feedback link opens: one button that POSTs the token back."""
    title, message = _ASK[claim.action]
    return render_page(
        "page.html",
        title=title,
        message=message,
        form_action=FEEDBACK_PATH,
        form_fields=[("token", token)],
        button=_BUTTON[claim.action],
    )


def confirm_unsubscribe_page(token: str) -> str:
    return render_page(
        "page.html",
        title="Unsubscribe from digests?",
        message="You will stop receiving digest e-mails. Your account stays as it is.",
        form_action=UNSUBSCRIBE_PATH,
        form_fields=[("token", token), ("List-Unsubscribe", "One-Click")],
        button="Unsubscribe",
    )


def unsubscribed_page() -> str:
    return render_page(
        "page.html",
        title="You are unsubscribed",
        message="You will not receive digest e-mails any more.",
    )


def error_page(title: str, detail: str | None) -> str:
    """A link that did not work; ``detail`` None when the fault is ours (say nothing more)."""
    message = detail if detail is not None else "Something went wrong on our side."
    return render_page("page.html", title=title, message=message)
