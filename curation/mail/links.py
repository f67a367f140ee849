"""What the links in a digest e-mail do when followed: feedback and unsubscribe, no login.

Following a link (GET, or a link checker's HEAD) never changes anything: mail scanners follow
every link in a message. It checks the token and shows a small page with one button, a form
that POSTs the token back; only that POST acts. The ``List-Unsubscribe`` header's URL also takes
the RFC 8058 one-click POST directly (``List-Unsubscribe-Post: List-Unsubscribe=One-Click``).

"Share with my team" (issue 15) works the same way: the link (GET) opens a form with the
person's teams and a note field and shares nothing; the form's POST (token, team, note) shares,
within the over-sharing guard of :class:`curation.teams.service.TeamService`.

The HTTP edge (``app/routes/email_links.py``) only turns requests into these calls and the results
(or the errors) into small HTML pages rendered from ``templates/page.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from curation.errors import InvalidInput, NotFound
from curation.mail.render import (
    FEEDBACK_PATH,
    SAVE_PATH,
    SHARE_PATH,
    UNSUBSCRIBE_PATH,
    render_page,
)
from curation.mail.tokens import LinkClaim, held_by, verify
from curation.people.records import PersonRecord
from curation.storage.items import ItemQueries
from curation.storage.people import PeopleStore
from curation.storage.teams import MyTeam, ShareRecord
from curation.teams.rules import MAX_NOTE_CHARS
from curation.teams.service import TeamService

FEEDBACK_ACTIONS = ("useful", "not_useful")
SAVE_ACTIONS = ("saved",)  # "Save for later": the saved signal, on its own path
_THANKS = {
    "useful": "Thanks: you will see more like this.",
    "not_useful": "Thanks: you will see less like this.",
    "saved": "Saved: find it under Saved on your page, or in GET /v1/me/saved.",
}
_ASK = {
    "useful": ("More like this?", "Tell us this item was useful: you will see more like it."),
    "not_useful": ("Less like this?", "Tell us this item was not for you: you will see less."),
    "saved": ("Save for later?", "Keep this item among your saved items, to read it later."),
}
_BUTTON = {
    "useful": "Yes, more like this",
    "not_useful": "Yes, less like this",
    "saved": "Save it",
}


@dataclass(frozen=True, slots=True)
class ShareForm:
    """What the share link's form shows: the item and the person's teams."""

    claim: LinkClaim
    item_title: str
    teams: tuple[MyTeam, ...]


class EmailLinks:
    def __init__(
        self,
        people: PeopleStore,
        secret: str,
        items: ItemQueries | None = None,
        teams: TeamService | None = None,
    ) -> None:
        self.people = people
        self.secret = secret
        self.items = items
        self.teams = teams

    def check_share(self, token: str, *, now: datetime) -> ShareForm:
        """A share link that would work: the item and the person's teams; shares nothing."""
        claim = verify(self.secret, token, now=now, actions=("share",))
        self._holder(claim)
        title = ""
        if self.items is not None:
            found = self.items.records([claim.item_id])
            if claim.item_id not in found:
                raise NotFound(f"item {claim.item_id} does not exist", resource_id=claim.item_id)
            title = found[claim.item_id].title
        teams = tuple(self.teams.teams_of(claim.person_id)) if self.teams is not None else ()
        return ShareForm(claim, title, teams)

    def share(
        self, token: str, *, team_id: str | None, note: str | None, now: datetime
    ) -> ShareRecord:
        """Share the link's item with the chosen team (the form's POST only)."""
        claim = verify(self.secret, token, now=now, actions=("share",))
        person = self._holder(claim)
        if self.teams is None:
            raise NotFound("sharing is not available here")
        if team_id is None or not team_id.isdigit() or len(team_id) > 12:
            raise InvalidInput("choose one of your teams")
        return self.teams.share(
            person, item_id=claim.item_id, team_id=int(team_id), note=note, now=now
        )

    def check_feedback(
        self, token: str, *, now: datetime, actions: tuple[str, ...] = FEEDBACK_ACTIONS
    ) -> LinkClaim:
        """A feedback link that would work (its person and item exist); records nothing.
        ``actions``: :data:`SAVE_ACTIONS` for a "Save for later" link."""
        claim = verify(self.secret, token, now=now, actions=actions)
        self._holder(claim)
        if self.items is not None and not self.items.exists(claim.item_id):
            raise NotFound(f"item {claim.item_id} does not exist", resource_id=claim.item_id)
        return claim

    def feedback(
        self, token: str, *, now: datetime, actions: tuple[str, ...] = FEEDBACK_ACTIONS
    ) -> LinkClaim:
        """Record the useful / not-for-me reaction (the latest on an item wins), or the saved
        signal (``actions`` :data:`SAVE_ACTIONS`); for the POST of the confirmation page only."""
        claim = verify(self.secret, token, now=now, actions=actions)
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
        form_action=SAVE_PATH if claim.action == "saved" else FEEDBACK_PATH,
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


def share_form_page(token: str, form: ShareForm) -> str:
    """The page a "Share with my team" link opens: the team choice and a note; one button."""
    if not form.teams:
        return render_page(
            "page.html",
            title="You are not in a team yet",
            message="Sharing goes to one of your teams; an admin adds you to a team.",
        )
    return render_page(
        "share.html",
        title="Share with my team",
        item_title=form.item_title or "(untitled)",
        teams=form.teams,
        token=token,
        form_action=SHARE_PATH,
        max_note=MAX_NOTE_CHARS,
    )


def shared_page(share: ShareRecord) -> str:
    return render_page(
        "page.html",
        title="Shared",
        message=f"Your team “{share.team_name}” will find it in their next digest.",
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
