"""A database held by another writer (issue 17, class 6): the API answers 503 with
``Retry-After`` within ``CURATION_API_BUSY_TIMEOUT``, not a 500 after half a minute.

The lock is real: a second connection to the same database holds a write lock (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: an exclusive table lock) while the request is made.
"""

from __future__ import annotations

import pytest

from curation.storage.feeds import Store
from tests.helpers.api import open_api
from tests.helpers.db import BOUND, BUSY_TIMEOUT, within, write_lock_held
from tests.helpers.settings import db_url


def test_a_write_under_a_held_lock_is_a_503_with_retry_after(any_store: Store) -> None:
    url = db_url(any_store)
    with open_api(url, api_busy_timeout=BUSY_TIMEOUT) as api:
        learner = api.person("learner")
        assert api.client.get("/v1/me", headers=learner.headers).status_code == 200
        with write_lock_held(url):
            answer, took = within(
                BOUND,
                lambda: api.client.patch(
                    "/v1/me", json={"name": "Blocked"}, headers=learner.headers
                ),
            )
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert int(answer.headers["Retry-After"]) >= 1
        assert "busy" in answer.json()["detail"]
        assert took < BUSY_TIMEOUT + 4
        # the lock is gone: the same request works
        again = api.client.patch("/v1/me", json={"name": "Free"}, headers=learner.headers)
        assert again.status_code == 200 and again.json()["name"] == "Free"
    any_store.engine.dispose()


def test_batch_jobs_keep_their_long_wait(sqlite_url: str) -> None:
    """Only request handling gets the short wait: an engine made for a batch job still waits."""
    from curation.storage.engine import make_engine, upgrade

    upgrade(sqlite_url)
    batch = make_engine(sqlite_url)
    with batch.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
    request = make_engine(sqlite_url, busy_timeout=BUSY_TIMEOUT)
    with request.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 1000
    batch.dispose()
    request.dispose()


@pytest.mark.parametrize("path", ["/v1/me"])
def test_reads_go_on_while_sqlite_is_locked(sqlite_url: str, path: str) -> None:
    """WAL: a held write lock does not stop readers, so only writes are refused."""
    from curation.storage.engine import upgrade

    upgrade(sqlite_url)
    with open_api(sqlite_url, api_busy_timeout=BUSY_TIMEOUT, api_auth_cache_seconds=0) as api:
        learner = api.person("learner")
        with write_lock_held(sqlite_url):
            answer, _ = within(BOUND, lambda: api.client.get(path, headers=learner.headers))
        assert answer.status_code == 200, answer.text


def test_an_email_link_under_a_held_lock_says_try_again(sqlite_url: str) -> None:
    """The e-mail links answer HTML: a busy database is a 503 page, nothing changed."""
    from datetime import timedelta

    from curation.clock import utcnow
    from curation.mail.tokens import sign
    from curation.storage.engine import upgrade

    upgrade(sqlite_url)
    with open_api(sqlite_url, api_busy_timeout=BUSY_TIMEOUT) as api:
        learner = api.person("learner")
        record = api.people.get(learner.id)
        token = sign(
            api.settings.secret_key.get_secret_value(),
            "useful",
            learner.id,
            api.item(),
            utcnow() + timedelta(days=1),
            person_created_at=record.created_at,
        )
        with write_lock_held(sqlite_url):
            answer, _ = within(
                BOUND, lambda: api.client.post("/v1/email/feedback", data={"token": token})
            )
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("text/html")
        assert int(answer.headers["Retry-After"]) >= 1
        assert "try again" in answer.text
        assert api.people.reactions([learner.id]) == {}
        done = api.client.post("/v1/email/feedback", data={"token": token})
        assert done.status_code == 200 and "Noted" in done.text
