"""The web workspace in a real browser (Debian's Chromium, driven by Playwright) against the
real app on a loopback port, a real SQLite file, a real SMTP server and a real feed server.

Every test saves screenshots under its tmp dir and in ``.artifacts/screenshots/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import feedparser
import httpx2
import pytest

from curation.people.records import NewPerson
from curation.storage.engine import make_engine, upgrade
from curation.storage.people import PeopleStore
from tests.helpers.browser import (
    CHROMIUM,
    NO_CHROMIUM,
    chromium_browser,
    live_app,
    new_context,
    port,
    screenshot,
)
from tests.helpers.feeds import rss, topic_items
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import make_settings
from tests.helpers.smtp import MailServer
from tests.helpers.web import link_in

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

CURATOR = "curator@example.org"
LEARNER = "learner@example.org"
SITE_PAGE = (
    b"<!doctype html><html><head><title>Testing blog</title>"
    b'<link rel="alternate" type="application/rss+xml" title="Testing blog" href="/feed.xml">'
    b"</head><body><h1>Testing blog</h1></body></html>"
)


def _preview_timezone() -> str:
    """A zone where it is not yet 22:00, so a digest hour of 23 makes today's digest a preview."""
    now = datetime.now(UTC)
    for zone in ("UTC", "Etc/GMT+6", "Etc/GMT-6", "Etc/GMT+12", "Etc/GMT-12"):
        if now.astimezone(ZoneInfo(zone)).hour < 22:
            return zone
    raise AssertionError("no zone before 22:00")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    root = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{root / 'curation.db'}"
    upgrade(url)
    with MailServer() as smtp, FeedServer() as feeds:
        feeds.add("/blog", body=SITE_PAGE, content_type="text/html; charset=utf-8")
        feeds.add("/feed.xml", body=rss("Testing blog", topic_items("b", 4)))
        listen = port()
        settings = make_settings(
            url,
            smtp_url=smtp.url,
            secret_key="browser-test-secret-" + "k" * 20,
            api_port=listen,
            outbox_dir=str(root / "outbox"),
            rank_min_df=1,
        )
        engine = make_engine(url)
        people = PeopleStore(engine)
        people.create(NewPerson(email=CURATOR, name="Cora Curator", role="curator"))
        _, learner_key = people.create(
            NewPerson(
                email=LEARNER,
                name="Lea Learner",
                timezone=_preview_timezone(),
                digest_hour=23,
                interests=[("python testing", 1.0)],
            )
        )
        for i in range(5):  # five people share one interest: shown as 5, not "fewer than 5"
            people.create(
                NewPerson(email=f"lead{i}@example.org", name=f"L{i}", interests=[("leadership", 1)])
            )
        with live_app(settings) as base:
            yield SimpleNamespace(
                base=base, smtp=smtp, feeds=feeds, people=people, learner_key=learner_key
            )
        engine.dispose()


@pytest.fixture(scope="module")
def chromium(site: SimpleNamespace) -> Iterator[object]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def context(chromium, site: SimpleNamespace) -> Iterator[object]:  # noqa: ANN001
    made = new_context(chromium, site.base)
    yield made
    made.close()


def _mailed_link(site: SimpleNamespace, to: str, before: int) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for received in site.smtp.received[before:]:
            if to in received.rcpt_tos:
                return link_in(received.message)
        time.sleep(0.1)
    raise AssertionError(f"no sign-in link mailed to {to}")


def _sign_in_by_email(page, site: SimpleNamespace, email: str, tmp_path: Path) -> None:  # noqa: ANN001
    before = len(site.smtp.received)
    page.goto("/")
    screenshot(page, tmp_path, "01-front-door")
    page.fill("input[name=email]", email)
    page.click("text=Mail me a sign-in link")
    assert "a sign-in link is on its way" in page.inner_text(".flash")
    page.goto(_mailed_link(site, email, before))
    screenshot(page, tmp_path, "02-sign-in-link")
    page.click("#use-link")


def _sign_in_by_key(page, key: str) -> None:  # noqa: ANN001
    page.goto("/")
    page.fill("input[name=api_key]", key)
    page.click("form[action='/sign-in/key'] button")


def test_curator_signs_in_by_email_adds_a_source_and_publishes_a_gem(
    context, site: SimpleNamespace, tmp_path: Path
) -> None:  # noqa: ANN001
    page = context.new_page()
    _sign_in_by_email(page, site, CURATOR, tmp_path)
    assert page.url.endswith("/workspace/sources")
    assert "Cora Curator" in page.inner_text("header")

    # add a source by a site's page: its feed is discovered, then fetched
    page.fill("#add-source input[name=url]", site.feeds.url("/blog"))
    page.fill("#add-source input[name=category]", "Engineering/Testing")
    page.click("#add-source button")
    assert "Added source" in page.inner_text(".flash")
    assert site.feeds.url("/feed.xml") in page.inner_text("table.sources")
    page.click("#ingest-now")
    assert "12 new items" in page.inner_text(".flash")
    assert "Engineering/Testing" in page.inner_text("table.sources")
    screenshot(page, tmp_path, "03-sources")

    # a collection to publish into
    page.goto("/workspace/collections")
    page.fill("#new-collection input[name=name]", "Testing picks")
    page.fill("#new-collection input[name=description]", "The best on testing")
    page.click("#new-collection button")
    assert page.inner_text("h1") == "Testing picks"

    # search, open the item, tag it as a gem straight into the collection
    page.goto("/workspace/items?q=pytest")
    screenshot(page, tmp_path, "04-items-search")
    page.click("ol.items li a >> nth=0")
    title = page.inner_text("h1")
    assert title.startswith("Python testing with pytest")
    assert "declared at least one matching interest" in page.inner_text("#reach")
    page.fill("#tag-gem textarea[name=note]", "Clear intro to fixtures")
    page.fill("#tag-gem textarea[name=audience]", "python testing")
    page.select_option("#tag-gem select[name=collection_id]", label="Testing picks")
    page.click("#tag-gem button")
    assert "added to the collection Testing picks" in page.inner_text(".flash")
    screenshot(page, tmp_path, "05-item")

    page.goto("/workspace/gems")
    assert "Clear intro to fixtures" in page.input_value("table.gems input[name=note]")
    screenshot(page, tmp_path, "06-gems")

    page.goto("/workspace/collections")
    page.click("text=Testing picks")
    assert title in page.inner_text("ol.collection-gems")
    screenshot(page, tmp_path, "07-collection")
    atom_url = page.get_attribute("#atom-url", "href")
    answer = httpx2.get(atom_url, timeout=10)  # no cookie: the feed is public
    assert answer.status_code == 200
    parsed = feedparser.parse(answer.content)
    assert parsed.version == "atom10" and not parsed.bozo
    assert [e.title for e in parsed.entries] == [title]

    # the learner whose interest the audience names sees the gem in today's preview
    learner = context.browser.new_context(base_url=site.base)
    try:
        mine = learner.new_page()
        _sign_in_by_key(mine, site.learner_key)
        assert mine.url.endswith("/me")
        today = mine.inner_text("#today")
        assert "preview" in today
        assert title in today and "Clear intro to fixtures" in today
        screenshot(mine, tmp_path, "08-learner-preview")
    finally:
        learner.close()


def test_insight_charts_show_demand_with_the_fewer_than_5_rule(
    context, site: SimpleNamespace, tmp_path: Path
) -> None:  # noqa: ANN001
    page = context.new_page()
    _sign_in_by_key(page, site.people.rotate_key(site.people.list()[0].id))
    page.goto("/workspace/insights")

    def people(phrase: str) -> str:
        row = page.locator("#interests-chart tr").filter(has_text=phrase)
        return row.locator("td.people").inner_text().strip()

    assert people("leadership") == "5"
    assert people("python testing") == "fewer than 5"
    assert page.locator("#interests-chart .bar .fill").count() >= 2
    assert page.locator("#sources-chart").is_visible()
    assert page.locator("#gems-chart").is_visible()
    screenshot(page, tmp_path, "09-insights")


def test_a_learner_is_refused_the_workspace(context, site: SimpleNamespace, tmp_path: Path) -> None:  # noqa: ANN001
    page = context.new_page()
    _sign_in_by_key(page, site.learner_key)
    for path in ("/workspace/sources", "/workspace/insights", "/workspace/people"):
        response = page.goto(path)
        assert response.status == 403, path
        assert page.inner_text("h1") == "Forbidden"
    assert "Sources" not in page.inner_text("header nav")  # not even offered
    screenshot(page, tmp_path, "10-learner-refused")


def test_sign_out_ends_the_session(context, site: SimpleNamespace, tmp_path: Path) -> None:  # noqa: ANN001
    page = context.new_page()
    _sign_in_by_key(page, site.learner_key)
    assert page.url.endswith("/me")
    page.click("form.signout button")
    assert "You are signed out." in page.inner_text(".flash")
    page.goto("/me")
    assert page.url == site.base + "/"  # sent back to the front door
    assert page.locator("input[name=api_key]").is_visible()
    screenshot(page, tmp_path, "11-signed-out")


def test_a_form_posted_without_its_csrf_token_is_refused(
    context, site: SimpleNamespace, tmp_path: Path
) -> None:  # noqa: ANN001
    page = context.new_page()
    _sign_in_by_key(page, site.people.rotate_key(site.people.list()[0].id))
    page.goto("/workspace/collections")
    before = page.locator("ul.collections li").count()
    page.fill("#new-collection input[name=name]", "Forged")
    page.eval_on_selector("#new-collection input[name=csrf]", "node => node.remove()")
    with page.expect_navigation() as navigation:
        page.click("#new-collection button")
    assert navigation.value.status == 403
    assert "not sent from this site" in page.inner_text("main")
    screenshot(page, tmp_path, "12-csrf-refused")
    page.goto("/workspace/collections")
    assert page.locator("ul.collections li").count() == before
    assert "Forged" not in page.inner_text("main")
