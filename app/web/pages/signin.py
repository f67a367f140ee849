"""Signing in and out: ``/sign-in/email``, ``/sign-in/link``, ``/sign-in/key``, ``/sign-out``.

Following an e-mailed link (GET) only shows a page with a button: mail scanners follow links,
and must not spend a one-time link. The button POSTs the token back, which spends it and starts
the session. Every POST here carries the session's CSRF token like every other form, and the
attempts count against ``CURATION_RATE_LIMIT_SIGN_IN`` (:mod:`app.routes.auth`).
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import rate_limits
from app.ratelimits import client_address
from app.routes.auth import SENT, SignInDep, ask_for_link
from app.web import render, session
from app.web.access import Form, PageRefused, WebRoute, text
from curation.clock import utcnow
from curation.errors import RateLimited, Unauthenticated
from curation.mail.errors import InvalidLink
from curation.people.records import PersonRecord

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _landing(person: PersonRecord) -> str:
    return "/me" if person.role == "learner" else "/workspace/sources"


def _limited(request: Request, email: str | None = None) -> None:
    try:
        rate_limits(request).sign_in(client_address(request.scope), email)
    except RateLimited as exc:
        raise PageRefused(429, "Too many sign-in attempts", exc.detail) from exc


@router.post("/sign-in/email")
def ask_link(request: Request, form: Form, service: SignInDep, tasks: BackgroundTasks) -> Response:
    email = text(form, "email").strip()
    if not email or len(email) > 320:
        session.flash(request, "enter your e-mail address", "error")
        return render.redirect("/")
    try:
        ask_for_link(request, email, service, tasks)
    except RateLimited as exc:
        raise PageRefused(429, "Too many sign-in attempts", exc.detail) from exc
    session.flash(request, SENT[0].upper() + SENT[1:] + ".")
    return render.redirect("/")


@router.get("/sign-in/link", response_class=HTMLResponse)
def confirm_link(request: Request, token: str = "") -> HTMLResponse:
    """Shows a button; spends nothing (see the module docstring)."""
    return render.page(request, "sign_in_link.html", token=token[:100])


@router.post("/sign-in/link")
def use_link(request: Request, form: Form, service: SignInDep) -> Response:
    _limited(request)
    try:
        person = service.redeem(text(form, "token"), now=utcnow())
    except InvalidLink as exc:
        raise PageRefused(400, "Sign-in link not valid", exc.detail) from exc
    session.sign_in(request, service, person)
    return render.redirect(_landing(person))


@router.post("/sign-in/key")
def use_key(request: Request, form: Form, service: SignInDep) -> Response:
    """API-key sign-in, for development and for people without mail."""
    _limited(request)
    try:
        person = service.with_api_key(text(form, "api_key"))
    except Unauthenticated:
        session.flash(request, "that API key is not valid", "error")
        return render.redirect("/")
    session.sign_in(request, service, person)
    return render.redirect(_landing(person))


@router.post("/sign-out")
def sign_out(request: Request, form: Form, service: SignInDep) -> Response:
    del form  # checked: nobody can sign someone else out from another site
    session.sign_out(request, service)
    session.flash(request, "You are signed out.")
    return render.redirect("/")
