"""Rate limits (issue 17, class 5): guessing keys, flooding and mass submissions get 429 with
``Retry-After``, per API key and per client address; each limit is a setting, 0 turns it off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.ratelimits import client_address
from curation.storage.feeds import Store
from tests.helpers.api import Api, open_api
from tests.helpers.settings import db_url

PROBLEM = "application/problem+json"
OPML = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline type="rss" xmlUrl="http://127.0.0.1:9/a.xml"/></body></opml>"""


@pytest.fixture
def limited(any_store: Store, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The app with the limits a test names (indirect parametrisation: ``request.param``)."""
    with open_api(db_url(any_store), **request.param) as api:
        yield api
    any_store.engine.dispose()


def too_many(response) -> int:  # noqa: ANN001
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == 429
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


def wrong_key(n: int) -> dict[str, str]:
    return {"Authorization": f"Bearer guess-{n:06d}"}


@pytest.mark.parametrize("limited", [{"rate_limit_auth_failures": 5}], indirect=True)
def test_guessing_keys_is_stopped_after_the_allowed_failures(limited: Api) -> None:
    learner = limited.person("learner")
    answers = [limited.client.get("/v1/me", headers=wrong_key(n)).status_code for n in range(5)]
    assert answers == [401] * 5
    too_many(limited.client.get("/v1/me", headers=wrong_key(5)))
    too_many(limited.client.get("/v1/me"))  # no key at all: refused the same way
    # a right guess now looks exactly like a wrong one: nothing is learnt by guessing on
    too_many(limited.client.get("/v1/me", headers=learner.headers))
    # another address is not affected
    other = TestClient(limited.app, client=("192.0.2.7", 40000))
    assert other.get("/v1/me", headers=learner.headers).status_code == 200
    assert other.get("/v1/me", headers=wrong_key(99)).status_code == 401


@pytest.mark.parametrize("limited", [{"rate_limit_auth_failures": 0}], indirect=True)
def test_zero_turns_the_failed_authentication_limit_off(limited: Api) -> None:
    answers = {limited.client.get("/v1/me", headers=wrong_key(n)).status_code for n in range(30)}
    assert answers == {401}


@pytest.mark.parametrize("limited", [{"rate_limit_per_key": 3}], indirect=True)
def test_one_key_gets_its_requests_a_minute(limited: Api) -> None:
    busy, other = limited.person("learner"), limited.person("learner")
    for _ in range(3):
        assert limited.client.get("/v1/me", headers=busy.headers).status_code == 200
    too_many(limited.client.get("/v1/me", headers=busy.headers))
    assert limited.client.get("/v1/me", headers=other.headers).status_code == 200


@pytest.mark.parametrize("limited", [{"rate_limit_per_address": 4}], indirect=True)
def test_one_address_gets_its_requests_a_minute(limited: Api) -> None:
    learner = limited.person("learner")
    for _ in range(4):
        assert limited.client.get("/v1/me", headers=learner.headers).status_code == 200
    body = limited.client.get("/v1/me", headers=learner.headers)
    too_many(body)
    too_many(limited.client.get("/nope"))  # every path, authenticated or not
    assert limited.client.get("/healthz").status_code == 200  # health checks are exempt
    other = TestClient(limited.app, client=("192.0.2.8", 40000))
    assert other.get("/v1/me", headers=learner.headers).status_code == 200


@pytest.mark.parametrize("limited", [{"rate_limit_submissions": 2}], indirect=True)
def test_source_submissions_are_limited_per_key_and_address(limited: Api) -> None:
    curator, other = limited.person("curator"), limited.person("curator")

    def submit(n: int, actor=curator):  # noqa: ANN001, ANN202
        return limited.client.post(
            "/v1/sources?check=false",
            json={"url": f"http://127.0.0.1:9/feed-{n}.xml"},
            headers=actor.headers,
        )

    assert submit(1).status_code == 201
    assert submit(2).status_code == 201
    too_many(submit(3))
    # an OPML import is a submission too
    opml = {**curator.headers, "Content-Type": "text/x-opml"}
    too_many(limited.client.post("/v1/sources/import", content=OPML, headers=opml))
    # another key from the same address: the address has used up its submissions as well
    too_many(submit(4, other))
    # ...while other requests of that key go on
    assert limited.client.get("/v1/sources", headers=curator.headers).status_code == 200
    # and from elsewhere, another key may submit
    elsewhere = TestClient(limited.app, client=("192.0.2.9", 40000))
    answer = elsewhere.post(
        "/v1/sources?check=false", json={"url": "http://127.0.0.1:9/x.xml"}, headers=other.headers
    )
    assert answer.status_code == 201


def test_ipv6_clients_are_counted_by_their_64_block() -> None:
    def of(host: str) -> str:
        return client_address({"client": (host, 1234)})

    assert of("2001:db8:1:2::1") == of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert of("2001:db8:1:3::1") != of("2001:db8:1:2::1")
    assert of("::ffff:192.0.2.1") == of("192.0.2.1") == "192.0.2.1"
    assert client_address({"client": None}) == "unknown"
