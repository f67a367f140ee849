"""What the links in a digest e-mail do when followed: feedback and unsubscribe, no login.

The HTTP edge (``app/email_links.py``) only turns requests into these calls and the results
(or the errors) into small HTML pages rendered from ``templates/page.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from curation.errors import CurationError
from curation.mail.render import UNSUBSCRIBE_PATH, render_page
from curation.mail.tokens import LinkClaim, verify
from curation.people.store import PeopleStore

FEEDBACK_ACTIONS = ("useful", "not_useful")
_THANKS = {
    "useful": "Thanks: you will see more like this.",
    "not_useful": "Thanks: you will see less like this.",
}


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    html: str


class EmailLinks:
    def __init__(self, people: PeopleStore, secret: str) -> None:
        self.people = people
        self.secret = secret

    def feedback(self, token: str, *, now: datetime, record: bool = True) -> LinkClaim:
        """Record the useful / not-for-me click (the latest click on an item wins).

        ``record=False`` checks the link only: for HEAD requests, which link checkers and
        mail scanners send without anyone having clicked.
        """
        claim = verify(self.secret, token, now=now, actions=FEEDBACK_ACTIONS)
        self.people.get(claim.person_id)  # NotFound once the person is gone
        if record:
            self.people.record_feedback(claim.person_id, claim.item_id, claim.action)
        return claim

    def check_unsubscribe(self, token: str, *, now: datetime) -> LinkClaim:
        claim = verify(self.secret, token, now=now, actions=("unsubscribe",))
        self.people.get(claim.person_id)
        return claim

    def unsubscribe(self, token: str, *, now: datetime) -> None:
        """Stop digest e-mails for the token's person (idempotent)."""
        claim = verify(self.secret, token, now=now, actions=("unsubscribe",))
        self.people.update(claim.person_id, email_digests=False)


# ---- pages -------------------------------------------------------------------------------------


def thanks_page(claim: LinkClaim) -> Page:
    return Page(200, render_page("page.html", title="Noted", message=_THANKS[claim.action]))


def confirm_unsubscribe_page(token: str) -> Page:
    return Page(
        200,
        render_page(
            "page.html",
            title="Unsubscribe from digests?",
            message="You will stop receiving digest e-mails. Your account stays as it is.",
            form_action=f"{UNSUBSCRIBE_PATH}?token={token}",
            button="Unsubscribe",
        ),
    )


def unsubscribed_page() -> Page:
    return Page(
        200,
        render_page(
            "page.html",
            title="You are unsubscribed",
            message="You will not receive digest e-mails any more.",
        ),
    )


def error_page(exc: CurationError) -> Page:
    status = exc.status if 400 <= exc.status < 500 else 500
    message = exc.detail if status < 500 else "Something went wrong on our side."
    return Page(status, render_page("page.html", title=exc.title, message=message))
