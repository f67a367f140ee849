"""The one copy of "an admin cannot delete themselves or drop their own admin role"
(:func:`curation.people.rules.check_own_account`), which the API and the People page call."""

from __future__ import annotations

import pytest

from curation.errors import Conflict
from curation.people.rules import check_own_account


def test_an_admin_cannot_lock_themselves_out() -> None:
    with pytest.raises(Conflict, match="delete yourself") as raised:
        check_own_account(7, 7, deleting=True)
    assert raised.value.resource_id == 7
    for role in ("learner", "curator", ""):
        with pytest.raises(Conflict, match="your own admin role"):
            check_own_account(7, 7, role=role)


def test_what_an_admin_may_do() -> None:
    check_own_account(7, 7)  # changing other fields of their own account
    check_own_account(7, 7, role="admin")
    check_own_account(7, 8, deleting=True)  # anyone else
    check_own_account(7, 8, role="learner")
