"""``/v1/me/channels``: where the caller's digest goes, and on which days.

``PUT`` replaces the caller's channels (an ``email`` channel sets the e-mail's cadence; ``slack``
and ``teams`` add incoming webhooks); ``GET`` lists them with webhook URLs masked. Validation
and the address policy are the domain's (:mod:`curation.channels.service`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from app.deps import DomainDep, Learner
from app.schemas import ChannelIn, ChannelList, ChannelOut
from curation.channels.service import ChannelInput, ChannelShown
from curation.clock import utcnow

router = APIRouter(prefix="/v1/me/channels", tags=["me"])


def _out(channel: ChannelShown) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        kind=channel.kind,
        url=channel.url,
        cadence=channel.cadence,
        weekday=channel.weekday,
        disabled_reason=channel.disabled_reason,
        created_at=channel.created_at,
    )


@router.get("")
def get_channels(me: Learner, domain: DomainDep) -> ChannelList:
    """The caller's channels; webhook URLs are masked (``https://hooks.slack.com/services/T…/***``)."""
    return ChannelList(channels=[_out(c) for c in domain.channels.list(me.id)])


@router.put("")
def set_channels(
    body: Annotated[list[ChannelIn], Body(max_length=10)], me: Learner, domain: DomainDep
) -> ChannelList:
    """Replace the caller's channels. A webhook already listed (same URL) keeps its history, so
    saving the same list again never posts a digest twice; a new one carries the digests
    recorded from now on. Internal addresses are refused (422, as for sources)."""
    channels = [ChannelInput(c.kind, c.url, c.cadence, c.weekday) for c in body]
    shown = domain.channels.replace(me.id, channels, now=utcnow())
    return ChannelList(channels=[_out(c) for c in shown])
