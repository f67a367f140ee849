"""The weekly budget holds when one person shares several items at the same moment: the
budget is checked again inside the transaction that records the share, after a write to the
person's row, so simultaneous shares are taken one after the other (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from curation.errors import CurationError
from curation.teams.service import ShareBudgetSpent, TeamService
from tests.teams.conftest import DAY1, World


def test_simultaneous_shares_never_overrun_the_budget(world: World) -> None:
    c = world.curation
    ada = world.person("Ada", "python testing")
    bob = world.person("Bob", "python testing")
    team = c.teams.create("Platform", now=DAY1)
    c.teams.set_members(team.id, [ada.id, bob.id])
    items = world.item_ids("py") + world.item_ids("garden") + world.item_ids("lead")
    assert len(items) >= 7
    guard = TeamService(c.teams.store, weekly_budget=2)
    guard.share(ada, item_id=items[0], team_id=team.id, note=None, now=DAY1)  # 1 left

    start = threading.Barrier(6)
    outcomes: list[str] = []
    lock = threading.Lock()

    def share(item_id: int) -> None:
        start.wait(timeout=30)
        try:
            guard.share(ada, item_id=item_id, team_id=team.id, note=None, now=DAY1)
            result = "shared"
        except ShareBudgetSpent:
            result = "over budget"
        except CurationError as exc:  # e.g. the store busy: refused, never over budget
            result = type(exc).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=share, args=(i,)) for i in items[1:7]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 6
    assert outcomes.count("shared") == 1, outcomes
    assert len(guard.my_shares(ada.id)) == 2  # the budget, never more
