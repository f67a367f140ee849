"""What the links in a digest e-mail do when followed: feedback and unsubscribe, no login.

The HTTP edge (``app/routes/email_links.py``) only turns requests into these calls and the results
(or the errors) into small HTML pages rendered from ``templates/page.html``.
"""

from __future__ import annotations

from datetime import datetime

from curation.errors import NotFound
from curation.mail.render import UNSUBSCRIBE_PATH, render_page
from curation.mail.tokens import LinkClaim, held_by, verify
from curation.people.records import PersonRecord
from curation.storage.people import PeopleStore

FEEDBACK_ACTIONS = ("useful", "not_useful")
_THANKS = {
    "useful": "Thanks: you will see more like this.",
    "not_useful": "Thanks: you will see less like this.",
}


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
        self._holder(claim)
        if record:
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


def confirm_unsubscribe_page(token: str) -> str:
    return render_page(
        "page.html",
        title="Unsubscribe from digests?",
        message="You will stop receiving digest e-mails. Your account stays as it is.",
        form_action=f"{UNSUBSCRIBE_PATH}?token={token}",
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
