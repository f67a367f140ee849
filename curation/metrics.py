"""In-process counters and histograms, rendered in the Prometheus text exposition format 0.0.4.

Nothing is global: :class:`ServiceMetrics` is created by whoever runs the service (the app
keeps one on ``app.state``) and passed to what records into it. Values are guarded by one lock,
so the API's worker threads and its event loop may record concurrently.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import TypeVar

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INGEST_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)

Labels = tuple[str, ...]
_M = TypeVar("_M", bound="_Metric")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Metric:
    kind = ""

    def __init__(
        self, name: str, help_text: str, labels: Sequence[str], lock: threading.Lock
    ) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._lock = lock

    def _key(self, values: Sequence[str]) -> Labels:
        if len(values) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {values}")
        return tuple(str(v) for v in values)

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"


class Counter(_Metric):
    kind = "counter"

    def __init__(
        self, name: str, help_text: str, labels: Sequence[str], lock: threading.Lock
    ) -> None:
        super().__init__(name, help_text, labels, lock)
        self._values: dict[Labels, float] = {} if self.label_names else {(): 0.0}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def lines(self) -> Iterator[str]:
        yield from super().lines()
        with self._lock:
            items = sorted(self._values.items())
        for key, value in items:
            yield f"{self.name}{_labels(self.label_names, key)} {_number(value)}"


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str],
        lock: threading.Lock,
        *,
        buckets: Sequence[float],
    ) -> None:
        super().__init__(name, help_text, labels, lock)
        self.buckets = tuple(sorted(buckets))
        # per label set: counts per bucket (non-cumulative, last one is +Inf), sum
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        slot = bisect_left(self.buckets, value)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
            counts[slot] += 1
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, *labels: str) -> int:
        with self._lock:
            return sum(self._counts.get(self._key(labels), ()))

    def lines(self) -> Iterator[str]:
        yield from super().lines()
        with self._lock:
            snapshot = sorted((k, list(c), self._sums[k]) for k, c in self._counts.items())
        for key, counts, total in snapshot:
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.label_names, key, le)} {running}"
            yield f"{self.name}_sum{_labels(self.label_names, key)} {_number(total)}"
            yield f"{self.name}_count{_labels(self.label_names, key)} {running}"


class Registry:
    """A set of metrics rendered together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, _Metric] = {}

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labels, self._lock))

    def histogram(
        self, name: str, help_text: str, labels: Sequence[str] = (), *, buckets: Sequence[float]
    ) -> Histogram:
        return self._add(Histogram(name, help_text, labels, self._lock, buckets=buckets))

    def _add(self, metric: _M) -> _M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.lines())
        return "\n".join(lines) + "\n"


class ServiceMetrics:
    """What the service reports: HTTP requests and ingest cycles."""

    CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self.registry = Registry()
        self.requests = self.registry.counter(
            "curation_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ("method", "route", "status"),
        )
        self.request_seconds = self.registry.histogram(
            "curation_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
        )
        self.ingest_runs = self.registry.counter(
            "curation_ingest_runs_total", "Ingest cycles run by this process."
        )
        self.ingest_sources = self.registry.counter(
            "curation_ingest_sources_total",
            "Sources processed by ingest cycles, by outcome status.",
            ("status",),
        )
        self.ingest_new_items = self.registry.counter(
            "curation_ingest_new_items_total", "Items stored for the first time by ingest cycles."
        )
        self.ingest_seconds = self.registry.histogram(
            "curation_ingest_duration_seconds",
            "Time one ingest cycle took.",
            buckets=INGEST_BUCKETS,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.inc(method, route, str(status))
        self.request_seconds.observe(seconds, method, route)

    def observe_ingest(self, statuses: Sequence[str], new_items: int, seconds: float) -> None:
        """Record one ingest cycle: each source's outcome status, the new items, its duration."""
        self.ingest_runs.inc()
        for status in statuses:
            self.ingest_sources.inc(status)
        self.ingest_new_items.inc(amount=new_items)
        self.ingest_seconds.observe(seconds)

    def render(self) -> str:
        return self.registry.render()
