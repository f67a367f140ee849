"""The authorization matrix: every endpoint × every caller × own/other resource, exact statuses.

Callers: no key, a key that is not one, a learner, a curator, an admin. The rules
(app/deps.py): no or bad key → 401; a role below the endpoint's → 403, whatever the id and
whether it exists; another person's data is reachable only by admins through /v1/people
(everyone else reaches only their own, through /v1/me); another curator's gem may be read by
curators but deleted only by its curator or an admin (403). Every case runs on fresh people,
and a refused change is checked to have changed nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from curation.clock import utcnow
from curation.digest.timing import local_day
from curation.storage.tables import Gem, Person, Share, TeamMember
from tests.helpers.api import Actor, Api, open_api

CALLERS = ("anonymous", "bad_key", "learner", "curator", "admin")
RANK = {"learner": 0, "curator": 1, "admin": 2}


@pytest.fixture(scope="module")
def api(module_db_url: str) -> Iterator[Api]:
    with open_api(module_db_url) as api:
        yield api


@dataclass
class Ctx:
    api: Api
    caller: Actor | None
    other: Actor  # another person (a learner)

    @property
    def own(self) -> int:
        return self.caller.id if self.caller else self.other.id

    def own_gem(self) -> int:
        return self.api.gem(self.caller or self.other)

    def other_gem(self) -> int:
        return self.api.gem(self.api.person("curator"))

    def digest_day(self, whose: Actor | None) -> str:
        """Record today's digest for ``whose`` (through the domain) and return its date —
        whatever the hour: before the person's digest hour ``today()`` is only a preview."""
        domain = self.api.app.state.domain.get()
        person = self.api.people.get((whose or self.other).id)
        now = utcnow()
        return domain.digests.build(person, local_day(now, person.timezone), now).date


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    route: str  # the route template, as in the OpenAPI document
    expect: dict[str, int]
    path: Callable[[Ctx], str] | None = None  # the concrete path (default: the route)
    body: Callable[[Ctx], object] | None = None
    raw: bool = False  # body is bytes (OPML), not JSON
    html: bool = False  # answers are HTML pages (e-mail links), not problem+json


def needs(role: str | None, ok: int = 200, **overrides: int) -> dict[str, int]:
    """Statuses per caller for an endpoint that needs ``role`` (None: no authentication)."""
    if role is None:
        return dict.fromkeys(CALLERS, ok)
    out = {"anonymous": 401, "bad_key": 401}
    for caller, rank in RANK.items():
        out[caller] = ok if rank >= RANK[role] else 403
    return out | overrides


def _new_person(_: Ctx) -> dict:
    return {"email": f"p-{uuid.uuid4().hex[:10]}@example.org", "name": "New"}


def _opml(_: Ctx) -> bytes:
    return (
        '<opml version="2.0"><body><outline type="rss" text="x" '
        f'xmlUrl="http://127.0.0.1:9/{uuid.uuid4().hex[:8]}.xml"/></body></opml>'
    ).encode()


PERSON = "/v1/people/{person_id}"
PERSON_KEY = "/v1/people/{person_id}/api-key"
SOURCE = "/v1/sources/{source_id}"
GEM = "/v1/gems/{gem_id}"
DIGEST_DAY = "/v1/me/digests/{day}"

CASES = [
    Case("healthz", "GET", "/healthz", needs(None)),
    Case("metrics", "GET", "/metrics", needs(None)),
    # e-mail links: the signed token is the only credential, API keys play no part
    *[
        Case(
            f"email {m} {p}", m, p, needs(None, 400), lambda c, p=p: p + "?token=forged", html=True
        )
        for m, p in [
            ("GET", "/v1/email/feedback"),
            ("HEAD", "/v1/email/feedback"),  # a link checker: checks the token only
            ("POST", "/v1/email/feedback"),  # the confirmation page's button
            ("GET", "/v1/email/save"),  # "Save for later": confirm, then POST
            ("HEAD", "/v1/email/save"),
            ("POST", "/v1/email/save"),
            ("GET", "/v1/email/unsubscribe"),
            ("POST", "/v1/email/unsubscribe"),
        ]
    ],
    # a sign-in link for the web pages: anyone may ask, the answer never tells who exists
    Case(
        "auth email link",
        "POST",
        "/v1/auth/email-link",
        needs(None, 202),
        body=lambda c: {"email": "nobody@example.org"},
    ),
    # people (admins)
    Case("people create", "POST", "/v1/people", needs("admin", 201), body=_new_person),
    Case("people list", "GET", "/v1/people", needs("admin")),
    Case("person get own", "GET", PERSON, needs("admin"), lambda c: f"/v1/people/{c.own}"),
    Case("person get other", "GET", PERSON, needs("admin"), lambda c: f"/v1/people/{c.other.id}"),
    Case(
        "person patch own",
        "PATCH",
        PERSON,
        needs("admin"),
        lambda c: f"/v1/people/{c.own}",
        lambda c: {"name": "Renamed"},
    ),
    Case(
        "person patch other",
        "PATCH",
        PERSON,
        needs("admin"),
        lambda c: f"/v1/people/{c.other.id}",
        lambda c: {"role": "admin"},
    ),
    Case(
        "person delete own",
        "DELETE",
        PERSON,
        needs("admin", admin=409),
        lambda c: f"/v1/people/{c.own}",
    ),
    Case(
        "person delete other",
        "DELETE",
        PERSON,
        needs("admin", 204),
        lambda c: f"/v1/people/{c.other.id}",
    ),
    Case(
        "person key own",
        "POST",
        PERSON_KEY,
        needs("admin"),
        lambda c: f"/v1/people/{c.own}/api-key",
    ),
    Case(
        "person key other",
        "POST",
        PERSON_KEY,
        needs("admin"),
        lambda c: f"/v1/people/{c.other.id}/api-key",
    ),
    # me (everyone with a key, their own data only)
    Case("me get", "GET", "/v1/me", needs("learner")),
    Case("me patch", "PATCH", "/v1/me", needs("learner"), body=lambda c: {"digest_hour": 5}),
    Case(
        "me interests",
        "PUT",
        "/v1/me/interests",
        needs("learner"),
        body=lambda c: [{"phrase": "coaching", "weight": 2}],
    ),
    Case("me mutes", "PUT", "/v1/me/mutes", needs("learner"), body=lambda c: ["crypto"]),
    Case(
        "me feedback",
        "POST",
        "/v1/me/feedback",
        needs("learner"),
        body=lambda c: {"item_id": c.api.item(), "signal": "useful"},
    ),
    Case("me key", "POST", "/v1/me/api-key", needs("learner")),
    Case("me digest", "GET", "/v1/me/digest", needs("learner")),
    Case("me digest history", "GET", "/v1/me/digests", needs("learner")),
    Case(
        "me digest by day own",
        "GET",
        DIGEST_DAY,
        needs("learner"),
        lambda c: f"/v1/me/digests/{c.digest_day(c.caller)}",
    ),
    # only the other person has a digest that day: the caller's own (none) is what they get
    Case(
        "me digest by day other",
        "GET",
        DIGEST_DAY,
        needs("learner", 404),
        lambda c: f"/v1/me/digests/{c.digest_day(c.other)}",
    ),
    Case("me recommendations", "GET", "/v1/me/recommendations", needs("learner")),
    Case("deliveries list", "GET", "/v1/deliveries", needs("admin")),
    # sources and ingest (curators)
    Case("sources list", "GET", "/v1/sources", needs("curator")),
    Case(
        "source add",
        "POST",
        "/v1/sources",
        needs("curator", 201),
        lambda c: "/v1/sources?check=false",  # nothing listens there: added without a fetch
        body=lambda c: {"url": f"http://127.0.0.1:9/{uuid.uuid4().hex}.xml"},
    ),
    Case("source get", "GET", SOURCE, needs("curator"), lambda c: f"/v1/sources/{c.api.source()}"),
    Case(
        "source patch",
        "PATCH",
        SOURCE,
        needs("curator"),
        lambda c: f"/v1/sources/{c.api.source()}",
        body=lambda c: {"title": "Renamed", "active": False},
    ),
    Case(
        "source delete",
        "DELETE",
        SOURCE,
        needs("curator", 204),
        lambda c: f"/v1/sources/{c.api.source()}",
    ),
    Case("sources import", "POST", "/v1/sources/import", needs("curator"), body=_opml, raw=True),
    Case("sources export", "GET", "/v1/sources/export", needs("curator")),
    Case("ingest", "POST", "/v1/ingest", needs("curator")),
    # items and gems (curators)
    Case("items list", "GET", "/v1/items", needs("curator")),
    Case(
        "item get",
        "GET",
        "/v1/items/{item_id}",
        needs("curator"),
        lambda c: f"/v1/items/{c.api.item()}",
    ),
    Case(
        "gem create",
        "POST",
        "/v1/gems",
        needs("curator", 201),
        body=lambda c: {"item_id": c.api.item(), "note": "n", "audience": ["coaching"]},
    ),
    Case("gems list", "GET", "/v1/gems", needs("curator")),
    Case("gem get own", "GET", GEM, needs("curator"), lambda c: f"/v1/gems/{c.own_gem()}"),
    Case("gem get other", "GET", GEM, needs("curator"), lambda c: f"/v1/gems/{c.other_gem()}"),
    Case(
        "gem patch own",
        "PATCH",
        GEM,
        needs("curator"),
        lambda c: f"/v1/gems/{c.own_gem()}",
        lambda c: {"note": "changed"},
    ),
    Case(
        "gem patch other",
        "PATCH",
        GEM,
        needs("curator", curator=403),
        lambda c: f"/v1/gems/{c.other_gem()}",
        lambda c: {"note": "changed"},
    ),
    Case(
        "gem delete own", "DELETE", GEM, needs("curator", 204), lambda c: f"/v1/gems/{c.own_gem()}"
    ),
    Case(
        "gem delete other",
        "DELETE",
        GEM,
        needs("curator", 204, curator=403),
        lambda c: f"/v1/gems/{c.other_gem()}",
    ),
]


# ---- collections, their public feeds, insights, item links in e-mails (issue 13) ---------------
COLLECTION = "/v1/collections/{collection_id}"


def _collection(c: Ctx, *gems: int):  # noqa: ANN202
    service = c.api.app.state.domain.get().collections
    made = service.create("Team picks", "", None)
    for gem in gems:
        service.add_gem(made.id, gem)
    return made


def _feed(c: Ctx, suffix: str) -> str:
    url = getattr(
        _collection(c, c.other_gem()), "feed_url" if suffix == "atom" else "json_feed_url"
    )
    return "/" + url.split("/", 3)[3]


def _in_collection(c: Ctx) -> str:
    gem = c.other_gem()
    return f"/v1/collections/{_collection(c, gem).id}/gems/{gem}"


CASES += [
    *[
        Case(
            f"email {m} /v1/email/open",
            m,
            "/v1/email/open",
            needs(None, 400),
            lambda c: "/v1/email/open?token=forged",
            html=True,
        )
        for m in ("GET", "HEAD")
    ],
    Case("collections list", "GET", "/v1/collections", needs("curator")),
    Case(
        "collection create",
        "POST",
        "/v1/collections",
        needs("curator", 201),
        body=lambda c: {"name": "New picks"},
    ),
    Case(
        "collection get",
        "GET",
        COLLECTION,
        needs("curator"),
        lambda c: f"/v1/collections/{_collection(c).id}",
    ),
    Case(
        "collection delete",
        "DELETE",
        COLLECTION,
        needs("curator", 204),
        lambda c: f"/v1/collections/{_collection(c).id}",
    ),
    Case(
        "collection add gem",
        "POST",
        COLLECTION + "/gems",
        needs("curator"),
        lambda c: f"/v1/collections/{_collection(c).id}/gems",
        lambda c: {"gem_id": c.other_gem()},
    ),
    Case(
        "collection move gem",
        "PATCH",
        COLLECTION + "/gems/{gem_id}",
        needs("curator"),
        _in_collection,
        lambda c: {"position": 1},
    ),
    Case(
        "collection remove gem",
        "DELETE",
        COLLECTION + "/gems/{gem_id}",
        needs("curator", 204),
        _in_collection,
    ),
    Case(
        "collection rotate",
        "POST",
        COLLECTION + "/rotate",
        needs("curator"),
        lambda c: f"/v1/collections/{_collection(c).id}/rotate",
    ),
    # the feeds are public: the token in the URL is the only key, an API key plays no part
    Case("feed atom", "GET", "/v1/feeds/{token}.atom", needs(None), lambda c: _feed(c, "atom")),
    Case("feed json", "GET", "/v1/feeds/{token}.json", needs(None), lambda c: _feed(c, "json")),
    *[
        Case(f"insights {name}", "GET", f"/v1/insights/{name}", needs("curator"))
        for name in ("interests", "sources", "gems")
    ],
    Case(
        "insights item",
        "GET",
        "/v1/insights/items/{item_id}",
        needs("curator"),
        lambda c: f"/v1/insights/items/{c.api.item()}",
    ),
]


def _digest_feed(c: Ctx, suffix: str) -> str:
    """Another person's private digest feed: its token is the only key."""
    urls = c.api.app.state.domain.get().personal_feeds.urls(c.other.id)
    url = urls.atom_url if suffix == "atom" else urls.json_url
    return "/" + url.split("/", 3)[3]


CASES += [
    Case("my channels", "GET", "/v1/me/channels", needs("learner")),
    Case(
        "my channels set",
        "PUT",
        "/v1/me/channels",
        needs("learner"),
        body=lambda c: [{"kind": "email", "cadence": "weekdays"}],
    ),
    Case("my feeds", "GET", "/v1/me/feeds", needs("learner")),
    Case("my feeds rotate", "POST", "/v1/me/feeds/rotate", needs("learner")),
    *[
        Case(
            f"digest feed {suffix}",
            "GET",
            f"/v1/digest-feeds/{{token}}.{suffix}",
            needs(None),
            lambda c, suffix=suffix: _digest_feed(c, suffix),
        )
        for suffix in ("atom", "json")
    ],
]


# ---- teams and shares (issue 15) ---------------------------------------------------------------
TEAM = "/v1/teams/{team_id}"
SHARE = "/v1/me/shares/{share_id}"


def _team_of(c: Ctx, *person_ids: int) -> int:
    """A new team holding ``person_ids``."""
    teams = c.api.app.state.domain.get().teams
    team = teams.create(f"Team {uuid.uuid4().hex[:8]}")
    teams.set_members(team.id, person_ids)
    return team.id


def _share_of(c: Ctx, person_id: int) -> int:
    """A share by ``person_id`` into a team of theirs."""
    domain = c.api.app.state.domain.get()
    person = domain.people.get(person_id)
    team = _team_of(c, person_id)
    return domain.teams.share(person, item_id=c.api.item(), team_id=team, note=None).id


CASES += [
    Case(
        "teams create",
        "POST",
        "/v1/teams",
        needs("admin", 201),
        body=lambda c: {"name": uuid.uuid4().hex},
    ),
    Case("teams list", "GET", "/v1/teams", needs("curator")),
    Case("team get", "GET", TEAM, needs("admin"), lambda c: f"/v1/teams/{_team_of(c)}"),
    Case(
        "team members",
        "PUT",
        TEAM + "/members",
        needs("admin"),
        lambda c: f"/v1/teams/{_team_of(c)}/members",
        lambda c: {"person_ids": [c.other.id], "lead_ids": [c.other.id]},
    ),
    Case("team delete", "DELETE", TEAM, needs("admin", 204), lambda c: f"/v1/teams/{_team_of(c)}"),
    Case("my teams", "GET", "/v1/me/teams", needs("learner")),
    Case(
        "share into own team",
        "POST",
        "/v1/me/shares",
        needs("learner", 201),
        body=lambda c: {"item_id": c.api.item(), "team_id": _team_of(c, c.own), "note": "n"},
    ),
    # the team is the other person's only: nobody may share into a team they are not in
    Case(
        "share into other team",
        "POST",
        "/v1/me/shares",
        needs("learner", 403),
        body=lambda c: {"item_id": c.api.item(), "team_id": _team_of(c, c.other.id)},
    ),
    Case("my shares", "GET", "/v1/me/shares", needs("learner")),
    Case(
        "share withdraw own",
        "DELETE",
        SHARE,
        needs("learner", 204),
        lambda c: f"/v1/me/shares/{_share_of(c, c.own)}",
    ),
    # people see only their own shares: another's is not found, whatever the role
    Case(
        "share withdraw other",
        "DELETE",
        SHARE,
        needs("learner", 404),
        lambda c: f"/v1/me/shares/{_share_of(c, c.other.id)}",
    ),
    *[
        Case(
            f"email {m} /v1/email/share",
            m,
            "/v1/email/share",
            needs(None, 400),
            lambda c: "/v1/email/share?token=forged",
            html=True,
        )
        for m in ("GET", "HEAD")
    ],
    Case(
        "email POST /v1/email/share",
        "POST",
        "/v1/email/share",
        needs(None, 400),
        body=lambda c: {"token": "forged", "team_id": "1"},
        html=True,
    ),
]


# ---- saved items, personal notes, the portfolio (issue 15): always the caller's own ------------
SAVED_ITEM = "/v1/me/saved/{item_id}"
NOTE = "/v1/me/notes/{item_id}"


def _saved_by(c: Ctx) -> int:
    item_id = c.api.item()
    c.api.people.record_feedback(c.own, item_id, "saved")
    return item_id


def _noted_by(c: Ctx) -> int:
    item_id = c.api.item()
    c.api.app.state.domain.get().portfolio.set_note(c.own, item_id, "n", utcnow())
    return item_id


def _portfolio_doc(c: Ctx) -> dict:
    return {
        "format": "curation-portfolio",
        "version": 1,
        "exported_at": "2026-11-01T00:00:00Z",
        "person": {"name": "someone"},
        "items": [{"url": "https://example.org/authz-import", "title": "t"}],
    }


CASES += [
    Case("my saved items", "GET", "/v1/me/saved", needs("learner")),
    Case(
        "unsave own",
        "DELETE",
        SAVED_ITEM,
        needs("learner", 204),
        lambda c: f"/v1/me/saved/{_saved_by(c)}",
    ),
    # another person's saved item is not on my list, whatever my role
    Case(
        "unsave other's",
        "DELETE",
        SAVED_ITEM,
        needs("learner", 404),
        lambda c: f"/v1/me/saved/{_saved_by(Ctx(c.api, None, c.other))}",
    ),
    Case(
        "note put",
        "PUT",
        NOTE,
        needs("learner"),
        lambda c: f"/v1/me/notes/{c.api.item()}",
        lambda c: {"note": "n"},
    ),
    Case(
        "note delete own",
        "DELETE",
        NOTE,
        needs("learner", 204),
        lambda c: f"/v1/me/notes/{_noted_by(c)}",
    ),
    Case(
        "note delete other's",
        "DELETE",
        NOTE,
        needs("learner", 404),
        lambda c: f"/v1/me/notes/{_noted_by(Ctx(c.api, None, c.other))}",
    ),
    Case("my portfolio", "GET", "/v1/me/portfolio", needs("learner")),
    Case(
        "portfolio import", "POST", "/v1/me/portfolio/import", needs("learner"), body=_portfolio_doc
    ),
]


def test_every_route_is_in_the_matrix(api: Api) -> None:
    """A new endpoint must join the matrix (the digest ones too, when they come)."""
    paths = api.app.openapi()["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert documented == {(c.method, c.route) for c in CASES}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_authorization(api: Api, case: Case, caller: str) -> None:
    actor = api.person(caller) if caller in RANK else None
    ctx = Ctx(api, actor, api.person("learner"))
    headers = {}
    if actor:
        headers = actor.headers
    elif caller == "bad_key":
        headers = {"Authorization": "Bearer cur_" + uuid.uuid4().hex}
    path = case.path(ctx) if case.path else case.route
    kwargs: dict = {"headers": headers}
    if case.body is not None:
        body = case.body(ctx)
        kwargs["content" if case.raw else "json"] = body
    before = _snapshot(api)
    answer = api.client.request(case.method, path, **kwargs)

    assert answer.status_code == case.expect[caller], answer.text
    if answer.status_code >= 400:
        media = "text/html" if case.html else "application/problem+json"
        assert answer.headers["content-type"].startswith(media)
        assert _snapshot(api) == before, "a refused request changed something"
    if answer.status_code == 401:
        assert answer.headers["www-authenticate"] == "Bearer"


def _snapshot(api: Api) -> tuple:
    """Everyone (with their role, name and key hash), and how many sources, gems, shares and
    team memberships exist."""
    with api.engine.connect() as conn:
        people = conn.execute(
            select(Person.id, Person.role, Person.name, Person.api_key_hash).order_by(Person.id)
        ).all()
        gems = conn.execute(select(func.count()).select_from(Gem)).scalar_one()
        shares = conn.execute(select(func.count()).select_from(Share)).scalar_one()
        teams = conn.execute(select(func.count()).select_from(TeamMember)).scalar_one()
    return people, gems, shares, teams, len(api.store.list_sources())
