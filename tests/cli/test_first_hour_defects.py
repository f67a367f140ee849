"""One test per defect a newcomer met in their first hour (issue 11), each failing before its
fix: the CLI and the API behave alike, links point home, the service explains itself."""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from curation.logs import configure_logging
from curation.mail.render import make_renderer
from curation.people.records import NewPerson
from curation.services import make_curation
from curation.settings import Settings, settings_table
from curation.storage.feeds import Store
from tests.helpers.cli import run
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.paths import ROOT
from tests.helpers.settings import settings_for

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


# 2. a plain `curation ingest` leaves the ranker able to rank
def test_cli_ingest_then_recommendations_without_rank_fit(
    env: dict[str, str],
    feed_server: FeedServer,
) -> None:
    run(["db", "upgrade"], env)
    fresh = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    url = feed_server.add("/f", body=rss("F", topic_items("x", 4, pub=fresh)))
    run(["sources", "add", url], env)
    run(["people", "add", "--email", "a@example.org", "--name", "A", "--interest", "python"], env)
    run(["ingest", "-q"], env)  # no `curation rank fit`
    settings = Settings(database_url=env["CURATION_DATABASE_URL"])
    c = make_curation(settings)
    ada = c.people.all()[0]
    found = c.digests.recommendations(ada, now=datetime.now(UTC))
    assert found.items and found.note is None


# 3. links in e-mails point where the service listens
def test_links_follow_the_port_unless_a_public_url_is_set() -> None:
    assert Settings(api_port=9123).base_url == "http://127.0.0.1:9123"
    assert Settings(api_host="0.0.0.0", api_port=81).base_url == "http://127.0.0.1:81"  # noqa: S104
    assert Settings(api_host="::1", api_port=81).base_url == "http://[::1]:81"
    explicit = Settings(api_port=9123, public_base_url="https://c.example.org/x")
    assert explicit.base_url == "https://c.example.org/x"
    make_renderer(Settings(api_port=9123, secret_key="k" * 32))  # a valid base: accepted


# 4. /docs works offline and / says what the service is
def test_docs_assets_are_served_from_the_package(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    page = client.get("/docs").text
    assert "cdn." not in page and "/static/docs/swagger-ui-bundle.js" in page
    asset = client.get("/static/docs/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert client.get("/static/docs/redoc.standalone.js").status_code == 200
    assert "cdn." not in client.get("/redoc").text
    home = client.get("/")
    assert home.status_code == 200 and 'href="/docs"' in home.text


# 5. the service logs its work, as text or JSON lines
def test_an_ingest_cycle_logs_counts_and_failures(
    store: Store, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(store)
    c = make_curation(settings, engine=store.engine)
    c.store.add_source(feed_server.add("/ok", body=rss("OK", topic_items("o", 2))))
    broken = c.store.add_source(feed_server.add("/broken", status=500))
    with caplog.at_level(logging.INFO, logger="curation"):
        c.ingest(now=NOW)
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("ingest: 2 sources: 1 ok") and "6 new items" in m for m in lines)
    assert any(f"source {broken.id}" in m and "500" in m for m in lines)
    assert any("ranking model refitted" in m for m in lines)


def test_json_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    handler = configure_logging(Settings(log_format="json", log_level="INFO"))
    try:
        logging.getLogger("curation.test").info("hello %s", "there", extra={"new_items": 3})
    finally:
        logging.getLogger().removeHandler(handler)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "hello there" and record["level"] == "INFO"
    assert record["logger"] == "curation.test" and record["new_items"] == 3 and record["time"]


# 6. the CLI's OPML import checks the address policy, like the API
def test_cli_opml_import_refuses_internal_addresses(
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    opml = tmp_path / "bad.opml"
    opml.write_text(
        "<opml version='2.0'><body>\n"
        "<outline text='meta' xmlUrl='http://169.254.169.254/latest/'/>\n"
        "<outline text='private' xmlUrl='http://10.1.1.2/f'/>\n"
        "<outline text='ok' xmlUrl='https://example.org/feed'/>\n"
        "</body></opml>"
    )
    run(["db", "upgrade"], env)
    done = run(["sources", "import", str(opml)], env)
    assert "imported 1 new sources" in done.stdout
    assert "line 2" in done.stderr and "line 3" in done.stderr
    listed = run(["sources", "list"], env).stdout
    assert "169.254" not in listed and "10.1.1.2" not in listed and "example.org" in listed


# 9. settings out of range are refused with their name; --all polls now; the secret is ignored
def test_bad_settings_are_refused_by_name(env: dict[str, str]) -> None:
    for name, value in (("POLL_INTERVAL_MINUTES", "0"), ("FETCH_CONCURRENCY", "-1")):
        done = run(["sources", "list"], env | {f"CURATION_{name}": value}, check=False)
        assert done.returncode == 2 and f"CURATION_{name}" in done.stderr


def test_ingest_all_polls_sources_that_are_not_due(store: Store, feed_server: FeedServer) -> None:
    settings = settings_for(store)
    c = make_curation(settings, engine=store.engine)
    c.store.add_source(feed_server.add("/f", body=rss("F", topic_items("a", 1))))
    assert len(c.ingest(now=NOW).outcomes) == 1
    assert c.ingest(now=NOW + timedelta(minutes=1)).outcomes == ()  # not due for an hour
    assert len(c.ingest(now=NOW + timedelta(minutes=2), every_source=True).outcomes) == 1
    assert len(feed_server.hits("/f")) == 2


def test_the_link_secret_is_git_ignored() -> None:
    done = subprocess.run(["git", "check-ignore", "-q", "curation.secret"], cwd=ROOT, check=False)
    assert done.returncode == 0


# 10. smaller API inconsistencies
def test_error_messages_say_what_not_the_regex(settings: Settings) -> None:
    c = make_curation(settings)
    from curation.storage.engine import upgrade

    upgrade(settings.database_url)
    _, key = c.people.create(NewPerson(email="a@example.org", name="A", role="admin"))
    client = TestClient(create_app(settings))
    headers = {"Authorization": f"Bearer {key}"}
    blank = client.put("/v1/me/interests", headers=headers, json=[{"phrase": " ", "weight": 1}])
    assert blank.status_code == 422 and "must not be blank" in blank.text
    assert "pattern" not in blank.text and "\\\\S" not in blank.text
    bad_day = client.get("/v1/me/digests/2026-1-2", headers=headers)
    assert bad_day.status_code == 422 and "YYYY-MM-DD" in bad_day.json()["detail"]


def test_search_orders_by_relevance_and_takes_prefixes(any_store: Store) -> None:
    from curation.storage.feeds import FeedWrite
    from tests.helpers.store import clean_item

    source = any_store.add_source("https://a.example.org/feed", title="A").id
    for item in (
        clean_item("weak", title="Notes", text="broadband mentioned once"),
        clean_item("strong", title="Broadband broadband", text="broadband speeds and broadband"),
        clean_item("other", title="Gardens", text="tomatoes"),
    ):
        any_store.save_feeds([FeedWrite(source, [item])], now=NOW, next_attempt_at=NOW)
    items = make_curation(Settings(), engine=any_store.engine).items
    found = items.list(q="broadband").items
    assert [i.title for i in found] == ["Broadband broadband", "Notes"]  # best first, not newest
    assert [i.title for i in items.list(q="broad*").items] == ["Broadband broadband", "Notes"]
    first = items.list(q="broad*", limit=1)
    second = items.list(q="broad*", limit=1, cursor=first.next_cursor)
    assert [i.title for i in first.items + second.items] == ["Broadband broadband", "Notes"]
    assert second.next_cursor is None


def test_past_digests_are_listed(settings: Settings, feed_server: FeedServer) -> None:
    from curation.storage.engine import upgrade

    upgrade(settings.database_url)
    c = make_curation(settings)
    c.store.add_source(feed_server.add("/f", body=rss("F", topic_items("a", 3))))
    c.ingest(now=NOW - timedelta(hours=1))
    ada, key = c.people.create(
        NewPerson(email="a@example.org", name="A", interests=[("python testing", 1)])
    )
    for day in range(3):
        c.digests.today(ada, NOW + timedelta(days=day))
    client = TestClient(create_app(settings))
    listed = client.get("/v1/me/digests?limit=2", headers={"Authorization": f"Bearer {key}"})
    body = listed.json()
    assert [d["date"] for d in body["digests"]] == ["2026-11-04", "2026-11-03"]
    older = client.get(
        f"/v1/me/digests?before={body['next_cursor']}", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert [d["date"] for d in older["digests"]] == ["2026-11-02"]
    assert older["digests"][0]["items"] > 0


def test_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme
