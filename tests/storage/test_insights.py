"""The insight queries and the open store on SQLite and PostgreSQL: counts of distinct people,
groups of phrases ignoring case, 30-day windows by first-seen time, one open per person."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, update

from curation.people.records import NewPerson
from curation.storage.feeds import Store
from curation.storage.gems import GemStore
from curation.storage.insights import InsightQueries, OpenStore
from curation.storage.people import PeopleStore
from curation.storage.tables import Digest, DigestItem, Item
from tests.helpers.store import T0, clean_item, save

DAY = timedelta(days=1)


def _people(store: Store, phrases: list[list[str]]) -> list[int]:
    people = PeopleStore(store.engine)
    return [
        people.create(
            NewPerson(email=f"p{n}@example.org", name=f"P{n}", interests=[(p, 1.0) for p in ps])
        )[0].id
        for n, ps in enumerate(phrases)
    ]


def _items(store: Store, source_id: int, keys: list[str], at) -> list[int]:  # noqa: ANN001
    save(store, source_id, *(clean_item(k) for k in keys), now=at)
    ids = []
    with store.engine.connect() as conn:
        for k in keys:
            ids.append(
                conn.execute(
                    Item.__table__.select().where(Item.dedupe_key == f"https://example.org/{k}")
                )
                .one()
                .id
            )
    return ids


def _deliver(store: Store, person_id: int, item_ids: list[int], sent_at=None) -> int:  # noqa: ANN001
    with store.engine.begin() as conn:
        digest_id = conn.execute(
            insert(Digest)
            .values(
                person_id=person_id,
                day=f"2026-11-{len(item_ids):02d}",
                window_start=T0,
                window_end=T0,
                created_at=T0,
                item_count=len(item_ids),
                payload="{}",
                email_sent_at=sent_at,
            )
            .returning(Digest.id)
        ).scalar_one()
        conn.execute(
            insert(DigestItem),
            [
                {"digest_id": digest_id, "person_id": person_id, "item_id": i, "section": "x"}
                for i in item_ids
            ],
        )
    return digest_id


def test_interest_phrases_group_ignoring_case_and_count_people(any_store: Store) -> None:
    _people(
        any_store,
        [["Data Science", "python"], ["data science"], ["DATA SCIENCE", "Python"], ["rust"]],
    )
    queries = InsightQueries(any_store.engine)
    found = queries.interest_phrases()
    assert [(p.key, p.people) for p in found] == [
        ("data science", 3),
        ("python", 2),
        ("rust", 1),
    ]
    assert found[0].phrase in ("Data Science", "data science", "DATA SCIENCE")
    assert [p.key for p in queries.interest_phrases(2)] == ["data science", "python"]
    # people holding any of several phrases are counted once
    assert queries.people_with_any(["data science", "python"]) == 3
    assert queries.people_with_any([]) == 0


def test_source_counts_over_the_window(any_store: Store) -> None:
    a = any_store.add_source("https://a.example.org/rss").id
    b = any_store.add_source("https://b.example.org/rss").id
    now = T0 + 40 * DAY
    old = _items(any_store, a, ["old1", "old2"], now - 31 * DAY)
    new = _items(any_store, a, ["new1", "new2", "new3"], now - 2 * DAY)
    _items(any_store, b, ["b1"], now - DAY)
    p1, p2, p3 = _people(any_store, [["x"], ["y"], ["z"]])
    _deliver(any_store, p1, [new[0], old[0]])
    _deliver(any_store, p2, [new[0]])
    people = PeopleStore(any_store.engine)
    people.record_feedback(p1, new[0], "useful")
    people.record_feedback(p2, new[0], "useful")
    people.record_feedback(p2, new[1], "useful")  # one person, two items: counted once
    people.record_feedback(p3, new[2], "not_useful")
    people.record_feedback(p3, old[1], "useful")  # outside the window
    counts = {
        c.source_id: c for c in InsightQueries(any_store.engine).source_counts(now - 30 * DAY)
    }
    assert (counts[a].items, counts[a].reached) == (3, 1)
    assert (counts[a].useful_people, counts[a].not_useful_people) == (2, 1)
    assert (counts[b].items, counts[b].reached, counts[b].useful_people) == (1, 0, 0)


def test_gem_counts_and_one_open_per_person(any_store: Store) -> None:
    source = any_store.add_source("https://a.example.org/rss").id
    item, other = _items(any_store, source, ["g1", "g2"], T0)
    curator, p1, p2 = _people(any_store, [[], [], []])
    gems = GemStore(any_store.engine)
    first = gems.create(item_id=item, curator_id=curator).id
    second = gems.create(item_id=other, curator_id=curator).id
    _deliver(any_store, p1, [item], sent_at=T0)
    _deliver(any_store, p2, [item, other])
    opens = OpenStore(any_store.engine)
    assert opens.delivery(p1, item) == (True, T0)
    assert opens.delivery(p2, item) == (True, None)  # not marked sent
    assert opens.delivery(p1, other) == (False, None)
    assert opens.record(p1, item, now=T0) is True
    assert opens.record(p1, item, now=T0 + DAY) is False  # counted once
    assert opens.record(p2, item, now=T0) is True
    PeopleStore(any_store.engine).record_feedback(p2, item, "useful")
    found = InsightQueries(any_store.engine).gem_counts(10)
    assert [(g.gem_id, g.delivered, g.opened, g.useful) for g in found] == [
        (second, 1, 0, 0),
        (first, 2, 2, 1),
    ]
    assert [g.gem_id for g in InsightQueries(any_store.engine).gem_counts(1)] == [second]
    assert opens.item_url(item) == "https://example.org/g1"
    with any_store.engine.begin() as conn:  # sent-at as stored is read back aware (UTC)
        conn.execute(update(Digest).values(email_sent_at=T0 + DAY))
    assert opens.delivery(p1, item)[1] == T0 + DAY
