"""Teams in a real browser (Debian's Chromium, driven by Playwright) against the real app on a
loopback port and a real SQLite file: an admin creates a team, adds a member by e-mail address
(an unknown one is refused by name), and tags a gem for the team from an item's page.

Screenshots are saved under the test's tmp dir and in ``.artifacts/screenshots/`` (``teams-*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from curation.ingest.records import CleanItem
from curation.people.records import NewPerson
from curation.storage.engine import make_engine, upgrade
from curation.storage.feeds import FeedWrite, Store
from curation.storage.gems import GemStore
from curation.storage.people import PeopleStore
from curation.storage.tables import Item
from tests.helpers.api import NOW
from tests.helpers.browser import (
    CHROMIUM,
    NO_CHROMIUM,
    chromium_browser,
    live_app,
    new_context,
    port,
    screenshot,
)
from tests.helpers.settings import make_settings
from tests.helpers.store import clean_item

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

MEMBER = "ada.member@example.org"
TITLE = "Pairing on flaky tests"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    root = tmp_path_factory.mktemp("teams-site")
    url = f"sqlite:///{root / 'curation.db'}"
    upgrade(url)
    settings = make_settings(
        url, secret_key="browser-test-secret-" + "k" * 20, api_port=port(), rank_min_df=1
    )
    engine = make_engine(url)
    people = PeopleStore(engine)
    _, admin_key = people.create(NewPerson(email="ann.admin@example.org", name="Ann", role="admin"))
    member, _ = people.create(NewPerson(email=MEMBER, name="Ada Member"))
    store = Store(engine)
    source = store.add_source("http://127.0.0.1:9/teams.xml", title="Team blog").id
    item: CleanItem = clean_item("flaky", title=TITLE, text="flaky tests pairing")
    store.save_feeds([FeedWrite(source, [item])], now=NOW, next_attempt_at=NOW)
    with engine.connect() as conn:
        item_id = conn.execute(select(Item.id)).scalar_one()
    with live_app(settings) as base:
        yield SimpleNamespace(
            base=base,
            admin_key=admin_key,
            member_id=member.id,
            item_id=item_id,
            gems=GemStore(engine),
        )
    engine.dispose()


@pytest.fixture(scope="module")
def chromium(site: SimpleNamespace) -> Iterator[object]:
    with chromium_browser() as browser:
        yield browser


def test_admin_creates_a_team_adds_a_member_and_tags_a_gem_for_it(
    chromium, site: SimpleNamespace, tmp_path: Path
) -> None:  # noqa: ANN001
    context = new_context(chromium, site.base)
    try:
        page = context.new_page()
        page.goto("/")
        page.fill("input[name=api_key]", site.admin_key)
        page.click("form[action='/sign-in/key'] button")
        page.click("header nav >> text=Teams")
        assert page.inner_text("h1") == "Teams"
        assert "No teams yet." in page.inner_text("table.teams")

        page.fill("#new-team input[name=name]", "Platform")
        page.click("#new-team button")
        assert page.inner_text("h1") == "Platform"
        assert "Team Platform created" in page.inner_text(".flash")

        # an address nobody has: named, and nothing changes (what was typed stays)
        page.fill("#team-members textarea[name=members]", f"{MEMBER}\nnobody@example.org")
        page.click("#team-members button")
        assert "nobody has the address nobody@example.org" in page.inner_text(".flash.error")
        assert "No members yet." in page.inner_text("ul.members")
        screenshot(page, tmp_path, "teams-01-unknown-address")

        page.fill("#team-members textarea[name=members]", MEMBER)
        page.click("#team-members button")
        assert "Members saved: 1" in page.inner_text(".flash")
        assert "Ada Member" in page.inner_text("ul.members")
        screenshot(page, tmp_path, "teams-02-team")

        page.click("header nav >> text=Teams")
        row = page.locator("table.teams tr").filter(has_text="Platform")
        assert row.locator("td.num").inner_text() == "1"
        screenshot(page, tmp_path, "teams-03-teams")

        # tag the item as a gem for the team: no audience, one team box ticked
        page.goto(f"/workspace/items/{site.item_id}")
        assert page.inner_text("h1") == TITLE
        assert not page.is_checked("#tag-gem input[name=teams]")
        page.fill("#tag-gem textarea[name=note]", "Ask Ada about this one")
        page.check("#tag-gem label:has-text('Platform') input")
        page.click("#tag-gem button")
        assert "tagged for Platform" in page.inner_text(".flash")
        assert "for the team Platform" in page.inner_text("aside")
        screenshot(page, tmp_path, "teams-04-item-gem")

        page.goto("/workspace/gems")
        row = page.locator("table.gems tr").filter(has_text=TITLE)
        assert "for Platform" in row.inner_text()
        assert row.locator("label:has-text('Platform') input").is_checked()
        screenshot(page, tmp_path, "teams-05-gems")

        (gem,) = site.gems.list(item_id=site.item_id).items
        assert (gem.note, gem.audience) == ("Ask Ada about this one", ())
        assert [name for _, name in gem.teams] == ["Platform"]
    finally:
        context.close()
