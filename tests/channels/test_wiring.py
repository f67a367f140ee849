"""The chat posts run where the e-mail runs: the scheduler's tick and `curation digests send`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from curation.channels.cadence import days_mask
from curation.scheduler import tick
from curation.services import make_curation
from curation.storage.channels import ChannelSpec, ChannelStore
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from tests.helpers.cli import run
from tests.helpers.digests import NOW, add_person, link_settings, record_digest
from tests.helpers.hookserver import HookServer
from tests.helpers.settings import db_url


def _one_digest_for_slack(store: Store, hooks: HookServer) -> None:
    person = add_person(PeopleStore(store.engine), 1)
    url = hooks.url("/slack")
    spec = ChannelSpec("slack", url, "daily", None, days_mask("daily", None))
    ChannelStore(store.engine).replace(person.id, [spec], now=NOW - timedelta(hours=1))
    record_digest(store.engine, person, [(1, "Story")])


def test_the_scheduler_tick_posts_to_webhooks(
    store: Store, hooks: HookServer, tmp_path: Path
) -> None:
    _one_digest_for_slack(store, hooks)
    settings = link_settings(store.engine, outbox_dir=str(tmp_path / "outbox"))
    curation = make_curation(settings)
    try:
        asyncio.run(tick(curation))
        asyncio.run(tick(curation))
    finally:
        curation.close()
    assert len(hooks.accepted("/slack")) == 1


def test_digests_send_posts_to_webhooks(
    store: Store, hooks: HookServer, env: dict[str, str], tmp_path: Path
) -> None:
    _one_digest_for_slack(store, hooks)
    env.update(
        CURATION_DATABASE_URL=db_url(store),
        CURATION_OUTBOX_DIR=str(tmp_path / "outbox"),
        CURATION_SECRET_KEY="test-secret-key-0123456789abcdef",
    )
    first = run(["digests", "send"], env)
    assert "chat: 1 posted" in first.stdout
    again = run(["digests", "send"], env)
    assert "chat: 0 posted" in again.stdout
    assert len(hooks.accepted("/slack")) == 1
