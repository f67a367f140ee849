"""Every answer carries a request id (issue 17, class 8): ``X-Request-ID`` on every response
(the client's when sane, else a new one), ``request_id`` in every problem document (500s
included) and on every log line written while the request is answered."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from curation.logs import configure_logging
from curation.settings import Settings
from tests.helpers.api import Api

log = logging.getLogger("tests.request_id")


@pytest.fixture
def json_logs() -> Iterator[Callable[[], list[dict]]]:
    """The service's JSON log lines (``CURATION_LOG_FORMAT=json``), read since the last call."""
    handler = configure_logging(Settings(log_format="json", log_level="INFO"))
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[attr-defined]

    def lines() -> list[dict]:
        text = stream.getvalue()
        stream.seek(0)
        stream.truncate()
        return [json.loads(x) for x in text.splitlines() if x.startswith("{")]

    yield lines
    logging.getLogger().removeHandler(handler)


def test_every_answer_carries_an_id(api: Api) -> None:
    learner = api.person("learner")
    ok = api.client.get("/v1/me", headers=learner.headers)
    missing = api.client.get("/v1/items/999999", headers=learner.headers)
    unauth = api.client.get("/v1/me")
    health = api.client.get("/healthz")
    ids = [r.headers["X-Request-ID"] for r in (ok, missing, unauth, health)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 4  # a new one each time
    assert missing.json()["request_id"] == missing.headers["X-Request-ID"]
    assert unauth.json()["request_id"] == unauth.headers["X-Request-ID"]


def test_a_sane_client_id_is_kept_and_any_other_replaced(api: Api) -> None:
    kept = api.client.get("/nope", headers={"X-Request-ID": "edge-7f3a:01.b_c-d"})
    assert kept.headers["X-Request-ID"] == "edge-7f3a:01.b_c-d"
    assert kept.json()["request_id"] == "edge-7f3a:01.b_c-d"
    for insane in ("x" * 129, "has space", "<script>", "semi;colon", ""):
        answer = api.client.get("/nope", headers={"X-Request-ID": insane})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"]), insane
        assert answer.json()["request_id"] == answer.headers["X-Request-ID"]


def test_a_500_names_its_request_and_its_log_lines_do_too(
    api: Api, json_logs: Callable[[], list[dict]]
) -> None:
    def boom() -> None:  # a route with a bug (run in the thread pool, like most routes)
        log.info("about to fail")
        raise RuntimeError("a bug")

    api.app.add_api_route("/test-only/boom", boom)
    client = TestClient(api.app, raise_server_exceptions=False)
    answer = client.get("/test-only/boom", headers={"X-Request-ID": "find-me-500"})
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["X-Request-ID"] == "find-me-500"
    body = answer.json()
    assert body["request_id"] == "find-me-500"
    assert "a bug" not in answer.text  # nothing about internals
    lines = json_logs()
    mine = [x for x in lines if x.get("request_id") == "find-me-500"]
    messages = [x["message"] for x in mine]
    assert "about to fail" in messages  # a line from the route, in its worker thread
    assert any(m.startswith("unhandled error on GET /test-only/boom") for m in messages)
    assert not [x for x in lines if x.get("message") == "about to fail" and x not in mine]
    # a later request's lines carry that request's id, not this one's
    client.get("/test-only/boom", headers={"X-Request-ID": "second"})
    later = json_logs()
    assert {x.get("request_id") for x in later if x["message"] == "about to fail"} == {"second"}


def test_rate_limited_and_refused_bodies_carry_it_too(api: Api) -> None:
    too_big = api.client.post(
        "/v1/me/feedback", content=b"x" * (api.settings.api_max_body_bytes + 1)
    )
    assert too_big.status_code == 413
    assert too_big.json()["request_id"] == too_big.headers["X-Request-ID"]
