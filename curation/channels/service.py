"""A person's channels as the API sees them: replace the list, read it back with webhook URLs
masked. Validation lives here: the kinds, one e-mail channel at most, the cadence rule
(:mod:`.cadence`) and the webhook address rule (:mod:`.addresses`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from curation.channels.addresses import check_webhook_url, mask_webhook
from curation.channels.cadence import checked, days_mask
from curation.errors import InvalidInput, NotFound
from curation.ingest.netpolicy import AddressPolicy
from curation.storage.channels import WEBHOOK_KINDS, ChannelRecord, ChannelSpec, ChannelStore

KINDS = ("email", *WEBHOOK_KINDS)
MAX_CHANNELS = 10


@dataclass(frozen=True, slots=True)
class ChannelInput:
    kind: str
    url: str | None
    cadence: str
    weekday: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelShown:
    """A channel as shown back: the webhook URL masked, never in full."""

    id: int
    kind: str
    url: str | None
    cadence: str
    weekday: int | None
    disabled_reason: str | None
    created_at: datetime


def shown(record: ChannelRecord) -> ChannelShown:
    return ChannelShown(
        id=record.id,
        kind=record.kind,
        url=mask_webhook(record.url),
        cadence=record.cadence,
        weekday=record.weekday,
        disabled_reason=record.disabled_reason,
        created_at=record.created_at,
    )


class ChannelService:
    def __init__(self, store: ChannelStore, policy: AddressPolicy) -> None:
        self.store = store
        self.policy = policy

    def list(self, person_id: int) -> list[ChannelShown]:
        return [shown(r) for r in self.store.of_person(person_id)]

    def replace(
        self, person_id: int, channels: Sequence[ChannelInput], *, now: datetime
    ) -> list[ChannelShown]:
        """Make the person's channels exactly ``channels`` (validated first, all or nothing)."""
        if len(channels) > MAX_CHANNELS:
            raise InvalidInput(f"at most {MAX_CHANNELS} channels")
        specs = [self._spec(n, c) for n, c in enumerate(channels)]
        if sum(1 for s in specs if s.kind == "email") > 1:
            raise InvalidInput("at most one email channel")
        keys = [(s.kind, s.url) for s in specs]
        if len(set(keys)) != len(keys):
            raise InvalidInput("the same webhook is listed twice")
        return [shown(r) for r in self.store.replace(person_id, specs, now=now)]

    def set_cadence(
        self,
        person_id: int,
        channel_id: int,
        cadence: str,
        weekday: int | None,
        *,
        now: datetime,
    ) -> list[ChannelShown]:
        """Change the cadence of one of the person's channels, the others as they are (the web
        page's form: it never sees a webhook URL in full, so it names the channel by id)."""
        records = self.store.of_person(person_id)
        if channel_id not in {r.id for r in records}:
            raise NotFound(f"no channel {channel_id} of yours", resource_id=channel_id)
        inputs = [
            ChannelInput(r.kind, r.url, cadence, weekday)
            if r.id == channel_id
            else ChannelInput(r.kind, r.url, r.cadence, r.weekday)
            for r in records
        ]
        return self.replace(person_id, inputs, now=now)

    def _spec(self, n: int, channel: ChannelInput) -> ChannelSpec:
        if channel.kind not in KINDS:
            raise InvalidInput(f"channel {n}: kind must be one of {', '.join(KINDS)}")
        cadence, weekday = checked(channel.cadence, channel.weekday)
        if channel.kind == "email":
            if channel.url:
                raise InvalidInput(f"channel {n}: an email channel takes no url")
            url = None
        else:
            if not channel.url:
                raise InvalidInput(f"channel {n}: a {channel.kind} channel needs its webhook url")
            url = check_webhook_url(self.policy, channel.url)
        return ChannelSpec(channel.kind, url, cadence.value, weekday, days_mask(cadence, weekday))
