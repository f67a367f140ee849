"""Long-lived objects out of the collector's full passes (:mod:`curation.longlived`): the
app's startup and a newly loaded ranking model are frozen; garbage made after is still freed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from curation.longlived import settle
from curation.storage.feeds import Store
from tests.helpers.api import open_api
from tests.helpers.settings import db_url


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def tracked(obj: object) -> bool:
    """Whether the collector's generations (not the permanent one) hold ``obj``."""
    return any(o is obj for o in gc.get_objects())


def test_a_loaded_model_and_the_started_app_are_frozen(any_store: Store) -> None:
    with open_api(db_url(any_store)) as api:
        gc.unfreeze()
        with TestClient(api.app):  # runs the app's startup
            assert gc.get_freeze_count() > 0  # it settled what it had built
        api.topic_items("k")
        domain = api.app.state.domain.get()
        assert domain.refit()
        gc.unfreeze()
        model = domain.recommender.model()
        assert model is not None and not tracked(model)


def test_settle_freezes_what_lives_and_garbage_made_after_is_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    kept = Node()
    settle()
    assert not tracked(kept)
    late = Node()
    gone = weakref.ref(late)
    del late
    gc.collect()
    assert gone() is None
