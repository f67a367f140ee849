"""What routes depend on: the domain objects of this app, and who is asking.

:class:`Domain` holds the engine and the domain modules. It is built at start-up or on the
first request (not at import and not in :func:`app.main.create_app`), so ``app.main:app`` can be
imported without a database, and disposed when the app shuts down. While the database's schema
is not the code's, every request that needs it is a 503 saying what to run.

Authentication is ``Authorization: Bearer <API key>``. Roles are cumulative: ``learner`` <
``curator`` < ``admin``. The rules, in order:

0. a client address that has sent ``CURATION_RATE_LIMIT_AUTH_FAILURES`` missing or wrong keys
   within a minute: **429** before any key is looked at (:mod:`app.ratelimits`); a key past
   ``CURATION_RATE_LIMIT_PER_KEY`` requests a minute: **429**;
1. no key, or a key that is not a current one: **401** (with ``WWW-Authenticate: Bearer``);
2. a role below what the endpoint needs: **403**, decided before any id is looked up, so it
   never tells whether something exists;
3. an id that does not exist: **404** (only ever said to someone allowed to know);
4. something the caller can see but may not change (another curator's gem): **403**.

The web pages' session cookie (:mod:`app.web.session`) also names a person on ``/v1`` when no
key is sent, with the same role rules (a learner's session gets 403 on a curator's endpoint),
for reads only: a GET or HEAD. Anything else made with the cookie alone is a 401 once the role
allows it (the API takes no CSRF token, so the cookie must not change anything there).

People reach their own data only through ``/v1/me``; ``/v1/people/{id}`` is for admins.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.ratelimits import RateLimits, client_address
from app.web import session as web_session
from curation.errors import Forbidden, SchemaNotCurrent, Unauthenticated
from curation.ingest.netpolicy import AddressPolicy
from curation.people.records import PersonRecord
from curation.services import Curation, make_curation
from curation.settings import Settings
from curation.storage.deliveries import DeliveryStates
from curation.storage.engine import make_engine
from curation.storage.schema import check_schema
from curation.vocab import Role

RANK = {role.value: role.rank for role in Role}
#: what a web session cookie may do on ``/v1`` (changes need the key: no CSRF on the API)
_READS = frozenset({"GET", "HEAD"})


Domain = Curation


class DomainProvider:
    """Builds the services once, on first use, from the app's settings (:func:`make_curation`).

    Requests wait at most ``CURATION_API_BUSY_TIMEOUT`` for a database lock (then 503), and are
    refused (503, with the reason) while the database's schema is not the code's: checked on
    first use, then again every few seconds only while it is not current.
    """

    RECHECK_SECONDS = 5.0

    def __init__(
        self, settings: Settings, *, observe_live_batch: Callable[[int, bool], None] | None = None
    ) -> None:
        self.settings = settings
        self._observe_live_batch = observe_live_batch  # the live ranking's batches, counted
        AddressPolicy.from_setting(settings.fetch_allow_hosts)  # fail fast on a bad setting
        self._lock = threading.Lock()
        self._domain: Curation | None = None
        self._schema_current = False
        self._schema_problem: SchemaNotCurrent | None = None
        self._checked_at = 0.0

    @property
    def ready(self) -> bool:
        """Built, and its schema found current (no further check needed)."""
        return self._domain is not None and self._schema_current

    def get(self) -> Curation:
        with self._lock:
            if self._domain is None:
                engine = make_engine(
                    self.settings.database_url, busy_timeout=self.settings.api_busy_timeout
                )
                self._domain = make_curation(self.settings, engine=engine)
                self._domain.recommender.live.observe = self._observe_live_batch
            domain = self._domain
            if not self._schema_current:
                self._check(domain)
            return domain

    def schema_problem(self) -> str | None:
        """Why the database cannot be served now (None: it can); cached like :meth:`get`."""
        try:
            self.get()
        except SchemaNotCurrent as exc:
            return exc.detail
        return None

    def _check(self, domain: Curation) -> None:
        now = time.monotonic()
        if self._schema_problem is None or now - self._checked_at >= self.RECHECK_SECONDS:
            try:
                check_schema(domain.engine)
            except SchemaNotCurrent as exc:
                self._schema_problem, self._checked_at = exc, now
            else:
                self._schema_current, self._schema_problem = True, None
                return
        problem = self._schema_problem
        raise SchemaNotCurrent(problem.detail, retry_after=problem.retry_after)

    def changed(self) -> None:
        """Something may have been written (a request other than a read ended): live answers
        are built afresh from the next request on (:meth:`Recommender.changed`)."""
        domain = self._domain
        if domain is not None:
            domain.recommender.changed()

    def close(self) -> None:
        with self._lock:
            if self._domain is not None:
                self._domain.close()
                self._domain = None
            self._schema_current = False
            self._schema_problem = None


async def get_domain(request: Request) -> Domain:
    # async: a sync dependency costs a thread-pool round trip on every request; only the
    # first (which checks the schema, a query) goes to the thread pool
    provider: DomainProvider = request.app.state.domain
    if provider.ready:
        return provider.get()
    return await run_in_threadpool(provider.get)


DomainDep = Annotated[Domain, Depends(get_domain)]


async def get_delivery_states(domain: DomainDep) -> DeliveryStates:
    """Read-only delivery states of recorded digests (built with the services)."""
    return domain.deliveries


Deliveries = Annotated[DeliveryStates, Depends(get_delivery_states)]

_bearer = HTTPBearer(auto_error=False, description="An API key, as `Bearer <key>`.")


def rate_limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


async def current_person(
    request: Request,
    domain: DomainDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> PersonRecord:
    limits = rate_limits(request)
    address = client_address(request.scope)
    limits.refuse_blocked_address(address)  # used up its failures: no key is even looked at
    if (credentials is None or not credentials.credentials) and web_session.has_session(request):
        service = web_session.sign_in_service(request, domain)
        person = await web_session.session_person(request, service)
        if person is not None:  # the web pages' session cookie (see require: reads only)
            request.state.by_session = True
            limits.key(f"web-session:{person.id}")
            return person
    if credentials is None or not credentials.credentials:
        limits.auth_failed(address)
        raise Unauthenticated("missing API key: send the header Authorization: Bearer <key>")
    key = credentials.credentials
    # a key seen in the last few seconds is answered from memory; otherwise the database
    # is asked from the thread pool, off the event loop
    person = domain.people.cached_person(key) or await run_in_threadpool(
        domain.people.authenticate, key
    )
    if person is None:
        limits.auth_failed(address)
        raise Unauthenticated("invalid API key")
    limits.key(key)
    return person


def require(role: str) -> Callable[[PersonRecord], PersonRecord]:
    """A dependency that lets through people holding ``role`` or a higher one."""
    needed = RANK[role]

    async def check(
        request: Request, person: Annotated[PersonRecord, Depends(current_person)]
    ) -> PersonRecord:
        if RANK.get(person.role, -1) < needed:
            raise Forbidden(f"this needs the {role} role (you are a {person.role})")
        if getattr(request.state, "by_session", False) and request.method not in _READS:
            raise Unauthenticated(
                "the web session cookie only reads the API: send Authorization: Bearer <key>"
            )
        return person

    return check


async def limit_submissions(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """For routes that add sources: ``CURATION_RATE_LIMIT_SUBMISSIONS`` per key and address.
    List it after the role dependency, so only authenticated callers are counted."""
    key = credentials.credentials if credentials else ""
    rate_limits(request).submission(key, client_address(request.scope))


Learner = Annotated[PersonRecord, Depends(require("learner"))]
Curator = Annotated[PersonRecord, Depends(require("curator"))]
Admin = Annotated[PersonRecord, Depends(require("admin"))]
Submission = Annotated[None, Depends(limit_submissions)]
