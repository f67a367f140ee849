"""``/v1/deliveries`` (admins): where digest e-mails stand, failed ones first to look at.

A permanent refusal by the mail server (an address that does not exist, a rejected message) is
never retried; this is where an admin sees it, with the server's words, and the person sees
the same on their own digests (``GET /v1/me/digests``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.deps import Admin, Deliveries
from app.digest_schemas import DeliveryPage, delivery_listed
from app.params import PageLimit
from app.schemas import MAX_ID

router = APIRouter(prefix="/v1/deliveries", tags=["digest"])

Status = Literal["pending", "sending", "sent", "empty", "failed", "skipped"]


@router.get("")
def list_deliveries(
    _: Admin,
    deliveries: Deliveries,
    status: Annotated[Status | None, Query(description="Only this status, e.g. `failed`")] = None,
    person_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: PageLimit = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="A `next_cursor`")] = None,
) -> DeliveryPage:
    """Recorded digests' e-mail states, newest first."""
    rows = deliveries.page(status=status, person_id=person_id, before_id=before, limit=limit + 1)
    page = [delivery_listed(r) for r in rows[:limit]]
    more = len(rows) > limit
    return DeliveryPage(deliveries=page, next_cursor=page[-1].digest_id if more else None)
