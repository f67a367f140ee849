"""What routes depend on: the domain objects of this app, and who is asking.

:class:`Domain` holds the engine and the domain modules. It is built on the first request (not
at import and not in :func:`app.main.create_app`), so ``app.main:app`` can be imported without
a database, and disposed when the app shuts down.

Authentication is ``Authorization: Bearer <API key>``. Roles are cumulative: ``learner`` <
``curator`` < ``admin``. The rules, in order:

1. no key, or a key that is not a current one: **401** (with ``WWW-Authenticate: Bearer``);
2. a role below what the endpoint needs: **403**, decided before any id is looked up, so it
   never tells whether something exists;
3. an id that does not exist: **404** (only ever said to someone allowed to know);
4. something the caller can see but may not change (another curator's gem): **403**.

People reach their own data only through ``/v1/me``; ``/v1/people/{id}`` is for admins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from curation.errors import Forbidden, Unauthenticated
from curation.ingest.netpolicy import AddressPolicy
from curation.people.records import PersonRecord
from curation.services import Curation, make_curation
from curation.settings import Settings
from curation.vocab import Role

RANK = {role.value: role.rank for role in Role}


Domain = Curation


class DomainProvider:
    """Builds the services once, on first use, from the app's settings (:func:`make_curation`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        AddressPolicy.from_setting(settings.fetch_allow_hosts)  # fail fast on a bad setting
        self._lock = threading.Lock()
        self._domain: Curation | None = None

    def get(self) -> Curation:
        with self._lock:
            if self._domain is None:
                self._domain = make_curation(self.settings)
            return self._domain

    def close(self) -> None:
        with self._lock:
            if self._domain is not None:
                self._domain.close()
                self._domain = None


async def get_domain(request: Request) -> Domain:
    # async: a sync dependency costs a thread-pool round trip on every request
    return request.app.state.domain.get()


DomainDep = Annotated[Domain, Depends(get_domain)]

_bearer = HTTPBearer(auto_error=False, description="An API key, as `Bearer <key>`.")


async def current_person(
    domain: DomainDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> PersonRecord:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("missing API key: send the header Authorization: Bearer <key>")
    key = credentials.credentials
    # a key seen in the last few seconds is answered from memory; otherwise the database
    # is asked from the thread pool, off the event loop
    person = domain.people.cached_person(key) or await run_in_threadpool(
        domain.people.authenticate, key
    )
    if person is None:
        raise Unauthenticated("invalid API key")
    return person


def require(role: str) -> Callable[[PersonRecord], PersonRecord]:
    """A dependency that lets through people holding ``role`` or a higher one."""
    needed = RANK[role]

    async def check(person: Annotated[PersonRecord, Depends(current_person)]) -> PersonRecord:
        if RANK.get(person.role, -1) < needed:
            raise Forbidden(f"this needs the {role} role (you are a {person.role})")
        return person

    return check


Learner = Annotated[PersonRecord, Depends(require("learner"))]
Curator = Annotated[PersonRecord, Depends(require("curator"))]
Admin = Annotated[PersonRecord, Depends(require("admin"))]
