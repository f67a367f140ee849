"""What an ingest cycle reports: one :class:`SourceOutcome` per source, and their summary.

Outcomes are small and picklable: they are all that comes back from a worker process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from curation.ingest.netpolicy import mask_credentials

__all__ = ["IngestSummary", "Progress", "Report", "SourceOutcome"]


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    source_id: int
    url: str
    status: str  # ok | not_modified | error | gone | refused
    new: int = 0
    updated: int = 0
    linked: int = 0
    skipped_entries: int = 0
    error: str | None = None
    warning: str | None = None  # stored, but something is odd (e.g. ids change on every fetch)

    def __post_init__(self) -> None:
        # an outcome is shown to curators and logged: never with the URL's credentials
        object.__setattr__(self, "url", mask_credentials(self.url))


@dataclass(frozen=True, slots=True)
class IngestSummary:
    outcomes: tuple[SourceOutcome, ...]
    elapsed: float

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def new_items(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def updated_items(self) -> int:
        return sum(o.updated for o in self.outcomes)

    def line(self) -> str:
        return (
            f"{len(self.outcomes)} sources: {self.count('ok')} ok, "
            f"{self.count('not_modified')} not modified, "
            f"{self.count('error', 'gone', 'refused')} failed; "
            f"{self.new_items} new items, {self.updated_items} updated "
            f"in {self.elapsed:.2f} s"
        )


Progress = Callable[[SourceOutcome], None]  # hears each outcome as it comes
Report = Callable[[list[SourceOutcome]], None]  # hears each group of outcomes as it is stored
