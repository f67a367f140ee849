"""What reading a feed found odd reaches its source row and its outcome, where curators see it,
and is cleared by the next healthy fetch."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from curation.cli.main import cmd_sources_list
from curation.ingest.pipeline import ingest
from curation.storage.feeds import Store
from tests.helpers.api import Api
from tests.helpers.feeds import rss, rss_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import db_url, settings_for
from tests.helpers.store import T0

LATIN1 = (
    '<rss version="2.0"><channel><title>x</title><item><title>Caf\u00e9</title>'
    "<link>https://x.example/a</link></item></channel></rss>"
).encode("latin-1")


def test_a_parser_warning_is_kept_on_the_source_until_a_clean_fetch(
    any_store: Store, feed_server: FeedServer
) -> None:
    settings = settings_for(any_store)
    url = feed_server.add("/odd", body=LATIN1, content_type="text/xml")
    source = any_store.add_source(url).id
    (outcome,) = ingest(any_store, settings, now=T0).outcomes
    assert outcome.status == "ok" and outcome.warning and "windows-1252" in outcome.warning
    assert any_store.get_source(source).warning == outcome.warning

    feed_server.add("/odd", body=rss("Fine", rss_items(2)))
    (outcome,) = ingest(any_store, settings, now=T0 + timedelta(hours=2)).outcomes
    assert outcome.status == "ok" and outcome.warning is None
    assert any_store.get_source(source).warning is None


def test_curators_see_the_warning_in_the_api_and_the_cli(
    any_store: Store, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(any_store)
    url = feed_server.add("/odd", body=LATIN1, content_type="text/xml")
    source = any_store.add_source(url).id
    (outcome,) = ingest(any_store, settings, now=T0).outcomes
    assert outcome.warning

    api = Api(db_url(any_store))
    try:
        curator = api.person("curator")
        page = api.client.get("/v1/sources", headers=curator.headers).json()
        (shown,) = [s for s in page["items"] if s["id"] == source]
        assert shown["warning"] == outcome.warning
    finally:
        api.close()

    assert cmd_sources_list(argparse.Namespace(), settings) == 0
    assert f"warning: {outcome.warning}" in capsys.readouterr().out
