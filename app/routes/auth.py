"""``POST /v1/auth/email-link``: mail a one-time sign-in link for the web pages.

Always **202** with the same body, whether or not anyone has the address, and the mail is sent
after the answer (a background task), so neither the answer nor its timing tells whether an
account exists. Attempts count against ``CURATION_RATE_LIMIT_SIGN_IN`` per client address and
per e-mail address (429 beyond). The link itself is spent by the web pages
(:mod:`app.web.pages.signin`); the rules are :mod:`curation.people.signin`'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from pydantic import BaseModel, Field

from app.deps import DomainDep, rate_limits
from app.ratelimits import client_address
from app.web import session as web_session
from curation.clock import utcnow
from curation.people.signin import SignIn

router = APIRouter(prefix="/v1/auth", tags=["auth"])

SENT = (
    "if an account has this address, a sign-in link is on its way; it works once, within"
    " a few minutes"
)


def sign_in_service(request: Request, domain: DomainDep) -> SignIn:
    return web_session.sign_in_service(request, domain)


SignInDep = Annotated[SignIn, Depends(sign_in_service)]


class EmailLinkIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, description="The address to mail a link to")


class EmailLinkOut(BaseModel):
    detail: str


def ask_for_link(request: Request, email: str, service: SignIn, tasks: BackgroundTasks) -> None:
    """The rate limit, then the mail after the answer (shared with the sign-in page)."""
    rate_limits(request).sign_in(client_address(request.scope), email)
    tasks.add_task(service.mail_link, email.strip(), now=utcnow())


@router.post("/email-link", status_code=202, responses={429: {"description": "Too many"}})
def email_link(
    body: EmailLinkIn, request: Request, service: SignInDep, tasks: BackgroundTasks
) -> EmailLinkOut:
    """Mail a one-time sign-in link (valid `CURATION_WEB_SIGN_IN_LINK_MINUTES`) to this address
    if someone has it. The answer is the same either way."""
    ask_for_link(request, body.email, service, tasks)
    return EmailLinkOut(detail=SENT)
