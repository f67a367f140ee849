"""Bad input on every endpoint, on SQLite and PostgreSQL: a clear 4xx naming what is wrong,
never a 500. Wrong types, missing and unknown fields, text no database can store, ids that do
not exist or cannot exist, bounds, forged cursors, malformed and oversize bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.helpers.api import Actor, Api, open_api

PROBLEM = "application/problem+json"
BIG = 2**31


@pytest.fixture(scope="module")
def api(module_db_url: str) -> Iterator[Api]:
    with open_api(module_db_url) as api:
        yield api


@pytest.fixture(scope="module")
def admin(api: Api) -> Actor:
    return api.person("admin")


@pytest.fixture(scope="module")
def ids(api: Api, admin: Actor) -> dict[str, int]:
    """Ids that exist (a person, a source, an item, a gem) for the routes that take one."""
    item = api.item("text")
    return {
        "person": api.person().id,
        "source": api.source(),
        "item": item,
        "gem": api.gem(admin, item),
    }


def _assert_problem(answer, status: int, field: str | None = None) -> dict:  # noqa: ANN001
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body = answer.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, (field, body)
    return body


def _person(**fields: object) -> dict:
    return {"email": "someone@example.org", "name": "Someone"} | fields


# (method, path, json body or raw bytes, expected status, field named in the problem)
CASES: list[tuple[str, str, object, int, str | None]] = [
    # POST /v1/people
    ("POST", "/v1/people", {"name": "x"}, 422, "body.email"),
    ("POST", "/v1/people", _person(email=5), 422, "body.email"),
    ("POST", "/v1/people", _person(email="no-at-sign"), 422, "body.email"),
    ("POST", "/v1/people", _person(name=""), 422, "body.name"),
    ("POST", "/v1/people", _person(name="x" * 201), 422, "body.name"),
    ("POST", "/v1/people", _person(name="a\x00b"), 422, "body.name"),
    ("POST", "/v1/people", _person(name="line\nbreak"), 422, "body.name"),
    ("POST", "/v1/people", _person(role="root"), 422, "body.role"),
    ("POST", "/v1/people", _person(timezone="Mars/Olympus"), 422, "body.timezone"),
    ("POST", "/v1/people", _person(timezone="America"), 422, "body.timezone"),  # a directory
    ("POST", "/v1/people", _person(timezone="../../etc/passwd"), 422, "body.timezone"),
    ("POST", "/v1/people", _person(digest_hour=24), 422, "body.digest_hour"),
    ("POST", "/v1/people", _person(digest_hour="seven"), 422, "body.digest_hour"),
    ("POST", "/v1/people", _person(digest_hour=BIG), 422, "body.digest_hour"),
    ("POST", "/v1/people", _person(interests="python"), 422, "body.interests"),
    ("POST", "/v1/people", _person(interests=[{"phrase": " "}]), 422, "body.interests.0.phrase"),
    (
        "POST",
        "/v1/people",
        _person(interests=[{"phrase": "p", "weight": 0}]),
        422,
        "body.interests.0.weight",
    ),  # fmt: skip
    (
        "POST",
        "/v1/people",
        _person(interests=[{"phrase": "p", "weight": 11}]),
        422,
        "body.interests.0.weight",
    ),  # fmt: skip
    (
        "POST",
        "/v1/people",
        _person(interests=[{"phrase": f"p{n}"} for n in range(51)]),
        422,
        "body.interests",
    ),  # fmt: skip
    ("POST", "/v1/people", _person(mutes=["x" * 101]), 422, "body.mutes.0"),
    ("POST", "/v1/people", _person(api_key_hash="0" * 64), 422, "body.api_key_hash"),
    (
        "POST",
        "/v1/people",
        b'{"email": "a@b.org", "name": "x", "interests": [{"phrase": "p", "weight": NaN}]}',
        422,
        "body.interests.0.weight",
    ),  # fmt: skip
    ("POST", "/v1/people", b'{"email": "a@b.org", "name": "\\ud800"}', 422, "body.name"),
    # /v1/people/{id}
    ("GET", "/v1/people/987654", None, 404, None),
    ("GET", "/v1/people/abc", None, 422, "path.person_id"),
    ("GET", "/v1/people/0", None, 422, "path.person_id"),
    ("GET", f"/v1/people/{BIG}", None, 422, "path.person_id"),
    ("GET", "/v1/people/1.5", None, 422, "path.person_id"),
    ("PATCH", "/v1/people/987654", {"name": "x"}, 404, None),
    ("PATCH", "/v1/people/{person}", {"role": "root"}, 422, "body.role"),
    ("PATCH", "/v1/people/{person}", {"digest_hour": None}, 422, "body.digest_hour"),
    ("PATCH", "/v1/people/{person}", {"api_key_hash": "x"}, 422, "body.api_key_hash"),
    ("DELETE", "/v1/people/987654", None, 404, None),
    ("POST", "/v1/people/987654/api-key", None, 404, None),
    ("GET", "/v1/people?limit=0", None, 422, "query.limit"),
    ("GET", "/v1/people?limit=101", None, 422, "query.limit"),
    ("GET", "/v1/people?limit=many", None, 422, "query.limit"),
    ("GET", "/v1/people?cursor=not-a-cursor", None, 422, None),
    ("GET", "/v1/people?cursor=aWQ6YWJj", None, 422, None),  # base64 of "id:abc"
    # /v1/me
    ("PATCH", "/v1/me", {"role": "admin"}, 422, "body.role"),
    ("PATCH", "/v1/me", {"email": "me@example.org"}, 422, "body.email"),
    ("PATCH", "/v1/me", {"email_digests": "sometimes"}, 422, "body.email_digests"),
    ("PATCH", "/v1/me", {"timezone": 3}, 422, "body.timezone"),
    ("PATCH", "/v1/me", [], 422, "body"),
    ("PUT", "/v1/me/interests", {"phrase": "x"}, 422, "body"),
    (
        "PUT",
        "/v1/me/interests",
        [{"phrase": "x", "weight": 1, "boost": 2}],
        422,
        "body.0.boost",
    ),  # fmt: skip
    ("PUT", "/v1/me/interests", [{"phrase": f"p{n}"} for n in range(51)], 422, "body"),
    ("PUT", "/v1/me/mutes", [1], 422, "body.0"),
    ("PUT", "/v1/me/mutes", ["tab\x01"], 422, "body.0"),
    ("PUT", "/v1/me/mutes", "crypto", 422, "body"),
    ("POST", "/v1/me/feedback", {"item_id": 987654, "signal": "useful"}, 404, None),
    ("POST", "/v1/me/feedback", {"item_id": "one", "signal": "useful"}, 422, "body.item_id"),
    ("POST", "/v1/me/feedback", {"item_id": BIG, "signal": "useful"}, 422, "body.item_id"),
    ("POST", "/v1/me/feedback", {"item_id": -1, "signal": "useful"}, 422, "body.item_id"),
    ("POST", "/v1/me/feedback", {"item_id": "{item}", "signal": "meh"}, 422, "body.signal"),
    ("POST", "/v1/me/feedback", {"signal": "useful"}, 422, "body.item_id"),
    ("GET", "/v1/me/digests/yesterday", None, 422, "path.day"),
    ("GET", "/v1/me/digests/2026-99-99", None, 404, None),
    ("GET", "/v1/me/recommendations?limit=51", None, 422, "query.limit"),
    ("GET", "/v1/me/recommendations?since=2026-11-01T08:00:00", None, 422, None),
    # /v1/sources
    ("POST", "/v1/sources", {"url": 5}, 422, "body.url"),
    ("POST", "/v1/sources", {"url": ""}, 422, "body.url"),
    ("POST", "/v1/sources", {"url": "https://e.org/" + "x" * 3000}, 422, "body.url"),
    ("POST", "/v1/sources", {"url": "not a url"}, 422, None),
    ("POST", "/v1/sources", {"url": "http://exa mple.org/"}, 422, None),
    ("POST", "/v1/sources", {"url": "https://e.org/\x00"}, 422, "body.url"),
    ("POST", "/v1/sources", {"url": "https://e.org/", "title": ["x"]}, 422, "body.title"),
    ("GET", "/v1/sources/987654", None, 404, None),
    ("GET", "/v1/sources/x", None, 422, "path.source_id"),
    ("DELETE", "/v1/sources/987654", None, 404, None),
    ("DELETE", f"/v1/sources/{BIG}", None, 422, "path.source_id"),
    ("GET", "/v1/sources?limit=0", None, 422, "query.limit"),
    ("GET", "/v1/sources?limit=101", None, 422, "query.limit"),
    ("GET", "/v1/sources?cursor=forged", None, 422, None),
    ("GET", "/v1/sources?cursor=" + "x" * 101, None, 422, "query.cursor"),
    ("POST", "/v1/sources?check=maybe", {"url": "https://e.org/"}, 422, "query.check"),
    ("PATCH", "/v1/sources/{source}", {"url": "https://e.org/"}, 422, "body.url"),
    ("PATCH", "/v1/sources/{source}", {"title": None}, 422, "body.title"),
    ("PATCH", "/v1/sources/{source}", {"title": "x" * 501}, 422, "body.title"),
    ("PATCH", "/v1/sources/{source}", {"category": "a\tb"}, 422, "body.category"),
    ("PATCH", "/v1/sources/{source}", {"active": "maybe"}, 422, "body.active"),
    ("PATCH", "/v1/sources/987654", {"active": True}, 404, None),
    ("PATCH", f"/v1/sources/{BIG}", {}, 422, "path.source_id"),
    ("POST", "/v1/sources/import", b"", 422, None),
    ("POST", "/v1/sources/import", b"not xml at all", 422, None),
    ("POST", "/v1/sources/import", b"<rss/>", 422, None),
    (
        "POST",
        "/v1/sources/import",
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><opml><body>&b;</body></opml>',
        422,
        None,
    ),  # fmt: skip
    # /v1/items
    ("GET", "/v1/items?limit=0", None, 422, "query.limit"),
    ("GET", "/v1/items?limit=101", None, 422, "query.limit"),
    ("GET", "/v1/items?source_id=0", None, 422, "query.source_id"),
    ("GET", "/v1/items?source_id=987654", None, 404, None),
    ("GET", "/v1/items?since=yesterday", None, 422, "query.since"),
    ("GET", "/v1/items?since=9999-12-31T23:00:00-14:00", None, 422, "query.since"),
    ("GET", "/v1/items?since=0001-01-01T00:00:00%2B14:00", None, 422, "query.since"),
    ("GET", "/v1/items?cursor=!!!", None, 422, None),
    ("GET", "/v1/items?q=a%00b", None, 422, "query.q"),
    ("GET", "/v1/items?q=" + "x" * 201, None, 422, "query.q"),
    ("GET", "/v1/items/987654", None, 404, None),
    ("GET", "/v1/items/abc", None, 422, "path.item_id"),
    ("GET", "/v1/items/99999999999999999999", None, 422, "path.item_id"),
    # /v1/gems
    ("POST", "/v1/gems", {"item_id": 987654}, 404, None),
    ("POST", "/v1/gems", {"note": "x"}, 422, "body.item_id"),
    ("POST", "/v1/gems", {"item_id": "{item}", "note": "x" * 2001}, 422, "body.note"),
    ("POST", "/v1/gems", {"item_id": "{item}", "note": "\x07"}, 422, "body.note"),
    ("POST", "/v1/gems", {"item_id": "{item}", "audience": [""]}, 422, "body.audience.0"),
    ("POST", "/v1/gems", {"item_id": "{item}", "audience": [5]}, 422, "body.audience.0"),
    (
        "POST",
        "/v1/gems",
        {"item_id": "{item}", "audience": [f"a{n}" for n in range(21)]},
        422,
        "body.audience",
    ),  # fmt: skip
    ("POST", "/v1/gems", {"item_id": "{item}", "curator_id": 1}, 422, "body.curator_id"),
    ("POST", "/v1/gems", {"item_id": "{item}"}, 409, None),  # the admin's gem exists already
    ("GET", "/v1/gems?limit=1000", None, 422, "query.limit"),
    ("GET", "/v1/gems?cursor=%00", None, 422, None),
    ("GET", "/v1/gems?item_id=abc", None, 422, "query.item_id"),
    ("GET", "/v1/gems/987654", None, 404, None),
    ("DELETE", "/v1/gems/987654", None, 404, None),
    ("DELETE", "/v1/gems/-3", None, 422, "path.gem_id"),
]


def _fill(value: object, ids: dict[str, int]) -> object:
    """Put real ids where a case says {person}, {item}…"""
    text = json.dumps(value)
    for name, id_ in ids.items():
        text = text.replace(f'"{{{name}}}"', str(id_)).replace(f"{{{name}}}", str(id_))
    return json.loads(text)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    CASES,
    ids=[f"{m} {p} #{n}" for n, (m, p, *_) in enumerate(CASES)],
)
def test_bad_input_is_a_clear_4xx(
    api: Api,
    admin: Actor,
    ids: dict[str, int],
    method: str,
    path: str,
    body: object,
    status: int,
    field: str | None,
) -> None:
    path = str(_fill(path, ids))
    kwargs: dict = {"headers": dict(admin.headers)}
    if isinstance(body, bytes):
        kwargs["content"] = body
        if not path.endswith("/import"):
            kwargs["headers"]["Content-Type"] = "application/json"
    elif body is not None:
        kwargs["json"] = _fill(body, ids)
    _assert_problem(api.client.request(method, path, **kwargs), status, field)


BODY_ROUTES = [
    ("POST", "/v1/people"),
    ("PATCH", "/v1/people/{person}"),
    ("PATCH", "/v1/me"),
    ("PUT", "/v1/me/interests"),
    ("PUT", "/v1/me/mutes"),
    ("POST", "/v1/me/feedback"),
    ("POST", "/v1/sources"),
    ("PATCH", "/v1/sources/{source}"),
    ("POST", "/v1/gems"),
    ("PATCH", "/v1/gems/{gem}"),
]
JUNK = [
    b"",
    b"null",
    b"123",
    b'"text"',
    b"[{}]",
    b'{"a": 1}',
    b"{bad json",
    b"[" * 50_000 + b"]" * 50_000,  # nested past any recursion limit
    b"\xff\xfe\x00garbage",
    b'{"name": "\\udfff"}',
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[" ".join(r) for r in BODY_ROUTES])
def test_junk_bodies_never_fail_the_server(
    api: Api, admin: Actor, ids: dict[str, int], method: str, path: str
) -> None:
    url = str(_fill(path, ids))
    headers = admin.headers | {"Content-Type": "application/json"}
    for junk in JUNK:
        answer = api.client.request(method, url, headers=headers, content=junk)
        assert 400 <= answer.status_code < 500, (junk[:20], answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM)
    oversize = b'{"name": "' + b"x" * (api.settings.api_max_body_bytes + 1) + b'"}'
    _assert_problem(api.client.request(method, url, headers=headers, content=oversize), 413)


def test_oversize_opml_is_413(api: Api, admin: Actor) -> None:
    body = b"<opml><body>" + b" " * api.settings.api_max_opml_bytes + b"</body></opml>"
    _assert_problem(api.client.post("/v1/sources/import", headers=admin.headers, content=body), 413)


def test_search_input_cannot_break_the_query(api: Api, admin: Actor) -> None:
    """FTS5 syntax, SQL and odd Unicode in q are searched for as words, never parsed."""
    hostile = [
        '"', '""', "*", "a*", "NEAR(a b)", "title:x", "a AND OR NOT b", "(", ")", "^a", "-a",
        "'; DROP TABLE item; --", "\\", "%_", "ǅ", "🙂", "a" * 200, "x " * 100, "{x}", ":",
        "col:", "+", "NOT", "OR", "\u200b", "\ufeff",
    ]  # fmt: skip
    for q in hostile:
        answer = api.client.get("/v1/items", headers=admin.headers, params={"q": q})
        assert answer.status_code == 200, (q, answer.text)
        assert isinstance(answer.json()["items"], list)
