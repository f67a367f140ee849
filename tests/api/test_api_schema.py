"""A bounded schemathesis run against the OpenAPI document: no input it generates makes a 5xx.

Each operation gets schemathesis's coverage cases (every boundary and invalid value its schema
implies) and three derandomized fuzzed ones, about 850 requests per backend, all sent with an
admin's key so that they reach the handlers, on SQLite and on PostgreSQL. Left out: the two
key-rotation operations (they would retire the key the run uses), ``POST /v1/ingest`` and
``POST /v1/sources`` (both fetch whatever hosts the generated URLs name, and tests talk to
loopback only; both are tested against a local server, and the second's bad bodies in
``test_api_input.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi

from app.main import create_app
from tests.helpers.api import Actor, Api, open_api
from tests.helpers.settings import make_settings
from tests.helpers.store import clean_item


@pytest.fixture(scope="module")
def fuzzed(module_db_url: str) -> Iterator[Api]:
    with open_api(module_db_url) as api:
        yield api


@pytest.fixture(scope="module")
def client(fuzzed: Api) -> Iterator[object]:
    """One in-process client for the whole run (the app starts and stops once)."""
    with asgi.get_client(fuzzed.app) as client:
        yield client


@pytest.fixture(scope="module")
def fuzz_admin(fuzzed: Api) -> Actor:
    admin = fuzzed.person("admin", interests=[("learning", 1.0)])
    source = fuzzed.source(title="Seed")
    items = fuzzed.items(source, [clean_item(f"seed{n}", text="learning") for n in range(5)])
    fuzzed.gem(admin, items[0])
    return admin


# The coverage phase sends every boundary and invalid value the schema implies (deterministic);
# the fuzzing phase adds a few random ones. Unsupported methods are left out: 405s everywhere
# would double the run and test Starlette's router rather than this API.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": []}}})
# the document only: create_app touches no database, and each case is sent to `fuzzed.app`
schema = (
    schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(make_settings("sqlite:///:memory:")), config=CONFIG
    )
    .exclude(path_regex=r"/api-key$")
    .exclude(path="/v1/ingest")
    .exclude(method="POST", path="/v1/sources")  # checks a new feed by fetching it
)


@schema.parametrize()
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_a_server_error(
    case: schemathesis.Case, client: object, fuzz_admin: Actor
) -> None:
    response = case.call(session=client, headers=fuzz_admin.headers)
    case.validate_response(response, checks=[not_a_server_error])
