"""Posting digests to Slack / Teams webhooks against a real local receiver that answers like
the services (200, 429 with Retry-After, 500, 404), on SQLite and PostgreSQL, with a real SMTP
server for the "your webhook is gone" notice. Each fault test ends with exactly one accepted
post per digest and channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from curation.channels.cadence import days_mask
from curation.channels.deliver import deliver_channels
from curation.channels.sealing import UrlSeal
from curation.settings import Settings
from curation.storage.channels import ChannelDeliveryRows, ChannelSpec, ChannelStore
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from tests.helpers.digests import (
    NOW,
    SECRET,
    add_items,
    add_person,
    link_settings,
    record_digest,
)
from tests.helpers.hookserver import Answer, HookServer
from tests.helpers.smtp import MailServer

BEFORE = NOW - timedelta(hours=1)  # channels exist before the digests are recorded
SEAL = UrlSeal(lambda: SECRET)  # URLs stored sealed, as the API stores them


@pytest.fixture
def settings(engine: Engine, smtp: MailServer) -> Settings:
    return link_settings(
        engine,
        smtp_url=smtp.url,
        channel_retry_base_seconds=60,
        channel_retry_after_max_seconds=600,
        channel_lease_minutes=5,
    )


def spec(kind: str, url: str, cadence: str = "daily", weekday: int | None = None) -> ChannelSpec:
    return ChannelSpec(kind, url, cadence, weekday, days_mask(cadence, weekday))


def setup(store: Store, hooks: HookServer, n_people: int = 1, **script: list[Answer]):  # noqa: ANN201
    """People with a Slack and a Teams channel each, and one recorded digest each."""
    people = PeopleStore(store.engine)
    channels = ChannelStore(store.engine, SEAL)
    item_ids = add_items(store, ["Story A", "Story B"])
    made = []
    for n in range(n_people):
        person = add_person(people, n)
        slack = hooks.script(f"/slack/{n}", *script.get(f"slack{n}", []))
        teams = hooks.script(f"/teams/{n}", *script.get(f"teams{n}", []))
        channels.replace(person.id, [spec("slack", slack), spec("teams", teams)], now=BEFORE)
        view = record_digest(store.engine, person, [(i, f"Story {i}") for i in item_ids])
        made.append((person, view))
    return made


def test_each_digest_is_posted_once_to_each_channel(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    made = setup(any_store, hooks, n_people=3)
    report = deliver_channels(any_store.engine, settings, NOW)
    assert report.sent == 6 and report.failed == 0
    again = deliver_channels(any_store.engine, settings, NOW + timedelta(hours=2))
    assert again.sent == 0
    for n, (_, view) in enumerate(made):
        (slack,) = hooks.accepted(f"/slack/{n}")
        (teams,) = hooks.accepted(f"/teams/{n}")
        assert slack["blocks"][0]["type"] == "header"
        assert "Story" in str(slack["blocks"]) and "/v1/email/feedback?token=" in str(slack)
        assert teams["attachments"][0]["content"]["type"] == "AdaptiveCard"
    states = ChannelDeliveryRows(any_store.engine).all()
    assert len(states) == 6 and {s.state for s in states} == {"sent"}
    assert all(s.attempts == 1 and s.sent_at is not None for s in states)


def test_429_waits_as_long_as_retry_after_asks_then_posts_once(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    setup(any_store, hooks, slack0=[Answer(429, {"Retry-After": "120"}, b"rate_limited")])
    first = deliver_channels(any_store.engine, settings, NOW)
    assert (first.sent, first.retrying) == (1, 1)
    (row,) = [r for r in ChannelDeliveryRows(any_store.engine).all() if r.state == "pending"]
    wait = (row.next_attempt_at - NOW).total_seconds()
    assert 119 <= wait < 130  # Retry-After (120 s), not the 60 s backoff
    assert "429" in row.error and "120" in row.error
    early = deliver_channels(any_store.engine, settings, NOW + timedelta(seconds=60))
    assert early.sent == 0 and hooks.tries("/slack/0") == 1
    later = deliver_channels(any_store.engine, settings, NOW + timedelta(seconds=125))
    assert later.sent == 1
    assert len(hooks.accepted("/slack/0")) == 1 and len(hooks.accepted("/teams/0")) == 1


def test_retry_after_is_capped(any_store: Store, settings: Settings, hooks: HookServer) -> None:
    setup(any_store, hooks, teams0=[Answer(429, {"Retry-After": "999999"})])
    deliver_channels(any_store.engine, settings, NOW)
    (row,) = [r for r in ChannelDeliveryRows(any_store.engine).all() if r.state == "pending"]
    assert (row.next_attempt_at - NOW).total_seconds() < 610  # capped at 600 s


def test_5xx_backs_off_and_then_posts_once(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    setup(any_store, hooks, slack0=[Answer(500), Answer(503)])
    deliver_channels(any_store.engine, settings, NOW)
    deliver_channels(any_store.engine, settings, NOW + timedelta(seconds=61))  # 1st backoff: 60 s
    (row,) = [r for r in ChannelDeliveryRows(any_store.engine).all() if r.state == "pending"]
    assert row.attempts == 2
    assert 119 <= (row.next_attempt_at - NOW - timedelta(seconds=61)).total_seconds() < 130
    deliver_channels(any_store.engine, settings, NOW + timedelta(minutes=5))
    assert hooks.tries("/slack/0") == 3
    assert len(hooks.accepted("/slack/0")) == 1
    assert {r.state for r in ChannelDeliveryRows(any_store.engine).all()} == {"sent"}


def test_crash_between_claim_and_mark_posts_once_after_the_lease(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    setup(any_store, hooks)
    rows = ChannelDeliveryRows(any_store.engine)
    rows.record_new(lambda *_: True)
    crashed = rows.due(NOW)[0]
    # a run claimed this row, then died before posting or marking it
    assert rows.claim(crashed, now=NOW, lease_until=NOW + timedelta(minutes=5)) is not None
    during = deliver_channels(any_store.engine, settings, NOW + timedelta(minutes=1))
    assert during.sent == 1  # the other channel; the claimed row waits for its lease
    after = deliver_channels(any_store.engine, settings, NOW + timedelta(minutes=6))
    assert after.sent == 1
    assert len(hooks.accepted("/slack/0")) == 1 and len(hooks.accepted("/teams/0")) == 1
    assert deliver_channels(any_store.engine, settings, NOW + timedelta(hours=1)).sent == 0


def test_gone_webhook_disables_the_channel_and_tells_the_person_once(
    any_store: Store, settings: Settings, hooks: HookServer, smtp: MailServer
) -> None:
    ((person, _),) = setup(any_store, hooks, slack0=[Answer(404, body=b"no_service")])
    report = deliver_channels(any_store.engine, settings, NOW)
    assert (report.sent, report.failed, report.disabled) == (1, 1, 1)
    channels = {c.kind: c for c in ChannelStore(any_store.engine, SEAL).of_person(person.id)}
    assert "404" in channels["slack"].disabled_reason
    assert channels["teams"].disabled_reason is None
    (notice,) = smtp.received
    assert notice.rcpt_tos == [person.email]
    text = notice.message.get_body(("plain",)).get_content()
    assert "Slack" in notice.message["Subject"] and "404" in text
    assert f"http://127.0.0.1:{hooks.port}/slack/0…/***" in text  # masked, never the full URL
    # the next day's digest goes to Teams only; no second notice
    record_digest(any_store.engine, person, [(1, "Later")], day="2026-11-03")
    nxt = deliver_channels(any_store.engine, settings, NOW + timedelta(days=1))
    assert nxt.sent == 1 and nxt.disabled == 0
    assert hooks.tries("/slack/0") == 1 and len(hooks.accepted("/teams/0")) == 2
    assert len(smtp.received) == 1


def test_weekly_channel_posts_on_its_weekday_only(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    people = PeopleStore(any_store.engine)
    person = add_person(people, 1)
    url = hooks.url("/weekly")
    ChannelStore(any_store.engine, SEAL).replace(
        person.id,
        [spec("slack", url, "weekly", 2)],
        now=BEFORE,  # Wednesdays
    )
    for day in ("2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"):  # Monday … Thursday
        record_digest(any_store.engine, person, [(1, f"On {day}")], day=day)
    report = deliver_channels(any_store.engine, settings, NOW + timedelta(days=3))
    assert report.sent == 1 and report.skipped == 3
    (posted,) = hooks.accepted("/weekly")
    assert "On 2026-11-04" in str(posted)


def test_saving_the_same_channels_again_never_reposts(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    ((person, _),) = setup(any_store, hooks)
    deliver_channels(any_store.engine, settings, NOW)
    store = ChannelStore(any_store.engine, SEAL)
    same = [spec(c.kind, c.url, "weekdays") for c in store.of_person(person.id)]
    store.replace(person.id, same, now=NOW + timedelta(minutes=1))
    assert deliver_channels(any_store.engine, settings, NOW + timedelta(minutes=2)).sent == 0
    assert len(hooks.accepted("/slack/0")) == 1


def test_a_refused_address_is_never_posted_to(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    ((person, _),) = setup(any_store, hooks)
    # the operator narrows the allow list after the channels were saved
    narrowed = settings.model_copy(update={"fetch_allow_hosts": ""})
    report = deliver_channels(any_store.engine, narrowed, NOW)
    assert report.failed == 2 and hooks.posts == []
    assert all("refused" in (r.error or "") for r in ChannelDeliveryRows(any_store.engine).all())


def test_a_url_sealed_under_another_key_is_not_posted_and_says_why(
    any_store: Store, settings: Settings, hooks: HookServer
) -> None:
    setup(any_store, hooks)
    rotated = settings.model_copy(update={"secret_key": SecretStr("another-secret-" + "k" * 32)})
    report = deliver_channels(any_store.engine, rotated, NOW)
    assert report.failed == 2 and hooks.posts == []
    assert all(
        "cannot be read" in (r.error or "") for r in ChannelDeliveryRows(any_store.engine).all()
    )
