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
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from curation.digest.service import DigestService
from curation.errors import CurationError
from curation.ingest.netpolicy import AddressPolicy
from curation.people.store import ROLES, KeyCache, PeopleStore, PersonRecord
from curation.settings import Settings
from curation.storage.engine import make_engine
from curation.storage.feeds import Store
from curation.storage.gems import GemStore
from curation.storage.items import ItemQueries

RANK = {role: rank for rank, role in enumerate(ROLES)}


class Unauthenticated(CurationError):
    status = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(CurationError):
    status = 403
    title = "Forbidden"


@dataclass(frozen=True, slots=True)
class Domain:
    settings: Settings
    engine: Engine
    store: Store
    people: PeopleStore
    items: ItemQueries
    gems: GemStore
    digests: DigestService  # one per app: its recommender caches the fitted model
    policy: AddressPolicy


class DomainProvider:
    """Builds the :class:`Domain` once, on first use, from the app's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = AddressPolicy.from_setting(settings.fetch_allow_hosts)  # fail fast
        self._lock = threading.Lock()
        self._domain: Domain | None = None

    def get(self) -> Domain:
        with self._lock:
            if self._domain is None:
                engine = make_engine(self.settings.database_url)
                ttl = self.settings.api_auth_cache_seconds
                self._domain = Domain(
                    settings=self.settings,
                    engine=engine,
                    store=Store(engine),
                    people=PeopleStore(engine, key_cache=KeyCache(ttl) if ttl > 0 else None),
                    items=ItemQueries(engine),
                    gems=GemStore(engine),
                    digests=DigestService(engine, self.settings),
                    policy=self.policy,
                )
            return self._domain

    def close(self) -> None:
        with self._lock:
            if self._domain is not None:
                self._domain.engine.dispose()
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
