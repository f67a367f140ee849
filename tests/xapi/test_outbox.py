"""The outbox hands each due statement to one flush at a time: a claimed batch is held for a
lease, so two flushes running together never post the same statement, and a flush that died
mid-send leaves its batch due again once the lease is over."""

from __future__ import annotations

from datetime import timedelta

from tests.xapi.conftest import NOW, World


def test_claims_are_disjoint_and_leases_end(world: World) -> None:
    world.digest(world.people[0], "2026-12-01", world.items[:5])
    store = world.domain.xapi.store
    assert world.domain.xapi.collect(NOW).queued == 5
    lease = NOW + timedelta(minutes=5)
    first = store.claim(now=NOW, limit=3, lease_until=lease)
    second = store.claim(now=NOW, limit=3, lease_until=lease)
    assert len(first) == 3 and len(second) == 2
    assert not {q.id for q in first} & {q.id for q in second}
    assert store.claim(now=NOW, limit=3, lease_until=lease) == []  # all held
    # the holder died: after the lease, the same statements are due again (ids unchanged)
    again = store.claim(now=lease, limit=10, lease_until=lease + timedelta(minutes=5))
    assert sorted(q.statement_id for q in again) == sorted(q.statement_id for q in first + second)
    store.mark_sent([q.id for q in again], now=lease)
    assert store.claim(now=lease + timedelta(days=1), limit=10, lease_until=lease) == []
    assert store.counts() == {"sent": 5}
