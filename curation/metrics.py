"""Request and ingest metrics, kept and exposed with ``prometheus-client``.

Nothing is global: :class:`ServiceMetrics` is created by whoever runs the service (the app keeps
one on ``app.state.metrics``) and passed to what records into it. Each one owns its own
:class:`prometheus_client.CollectorRegistry`; the library's default registry is never used.
prometheus-client guards every value with a lock, so the API's worker threads and its event loop
may record concurrently. :meth:`ServiceMetrics.render` gives the Prometheus text format 0.0.4,
with :attr:`ServiceMetrics.CONTENT_TYPE` as its content type.

Several worker processes (multiprocess mode)
--------------------------------------------
Each process counts only what it served, so behind ``uvicorn --workers N`` (or gunicorn) a
scrape of ``/metrics`` would see whichever worker answered. To have every scrape report the
sum over all workers, an operator:

1. makes a directory the workers can write, and **empties it each time the service starts**,
   before any worker runs: files left from an earlier run would be added to the new counts;
2. sets ``PROMETHEUS_MULTIPROC_DIR`` to it in the service's environment, so that it is set
   before any worker imports ``prometheus_client`` (the library chooses where values live when
   it is imported; setting the variable later is refused with an error).

For example::

    rm -rf /run/curation-metrics && mkdir -p /run/curation-metrics
    PROMETHEUS_MULTIPROC_DIR=/run/curation-metrics uvicorn app.main:app --workers 4

``curation run --workers N`` and ``curation serve --workers N`` (:mod:`curation.cli.serve`) do
both steps themselves: they empty the directory ``PROMETHEUS_MULTIPROC_DIR`` names, or make a
temporary one (removed at exit), before the API processes start.

Each process then keeps its values in memory-mapped files in that directory (one set per process
id) and ``/metrics``, whichever worker answers it, adds up all the files with prometheus-client's
``MultiProcessCollector``. Counters and histograms include processes that have exited since the
directory was emptied, as a counter should. In this mode a process should hold a single
:class:`ServiceMetrics` (the app's): two in one process would write the same file entries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

try:
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as _TEXT_0_0_4
except ImportError:  # older prometheus-client: the latest text format was still 0.0.4
    from prometheus_client import CONTENT_TYPE_LATEST as _TEXT_0_0_4

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INGEST_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # up to the live ranking's largest batch

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class _WithoutCreated:
    """A view of a registry without the ``*_created`` samples prometheus-client adds to
    counters and histograms (the text format would show them as extra gauges). The exposition
    keeps the same families in both modes; multiprocess mode has no such samples."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self._registry.collect():  # fresh Metric objects on each collect
            created = metric.name + "_created"
            metric.samples = [s for s in metric.samples if s.name != created]
            yield metric


def _multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, or None; refuses a setting that cannot work."""
    path = os.environ.get(MULTIPROC_ENV) or None
    if path is None:
        return None
    if not os.path.isdir(path):
        raise ValueError(f"{MULTIPROC_ENV}={path!r} is not a directory: create it (empty) first")
    if values.ValueClass is values.MutexValue:
        raise RuntimeError(
            f"{MULTIPROC_ENV} was set after prometheus_client was imported, so this process "
            "keeps its values in memory: set it in the environment the service starts with"
        )
    return path


class ServiceMetrics:
    """What the service reports: HTTP requests and ingest cycles."""

    CONTENT_TYPE = _TEXT_0_0_4

    def __init__(self) -> None:
        self.multiprocess_dir = _multiprocess_dir()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "curation_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "curation_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ("method", "route"),
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.ingest_runs = Counter(
            "curation_ingest_runs_total", "Ingest cycles run.", registry=self.registry
        )
        self.ingest_sources = Counter(
            "curation_ingest_sources_total",
            "Sources processed by ingest cycles, by outcome status.",
            ("status",),
            registry=self.registry,
        )
        self.ingest_new_items = Counter(
            "curation_ingest_new_items_total",
            "Items stored for the first time by ingest cycles.",
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "curation_ingest_duration_seconds",
            "Time one ingest cycle took.",
            registry=self.registry,
            buckets=INGEST_BUCKETS,
        )

        self.live_rank_batch_size = Histogram(
            "curation_live_rank_batch_size",
            "People ranked together by one live ranking call (requests that missed the cache"
            " at the same moment).",
            registry=self.registry,
            buckets=BATCH_BUCKETS,
        )
        self.live_rank_batch_failures = Counter(
            "curation_live_rank_batch_failures_total",
            "Live ranking calls that raised (every request of the batch got the error).",
            registry=self.registry,
        )

    def observe_live_batch(self, size: int, failed: bool) -> None:
        """Record one live ranking call of ``size`` requests (see curation.rank.batching)."""
        self.live_rank_batch_size.observe(size)
        if failed:
            self.live_rank_batch_failures.inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(method, route).observe(seconds)

    def observe_ingest(self, statuses: Sequence[str], new_items: int, seconds: float) -> None:
        """Record one ingest cycle: each source's outcome status, the new items, its duration."""
        self.ingest_runs.inc()
        for status in statuses:
            self.ingest_sources.labels(status).inc()
        self.ingest_new_items.inc(new_items)
        self.ingest_seconds.observe(seconds)

    def render(self) -> bytes:
        """The text exposition: this process's values, or all processes' in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(_WithoutCreated(self.registry))
        merged = CollectorRegistry()  # read afresh on each scrape: processes come and go
        MultiProcessCollector(merged, path=self.multiprocess_dir)
        return generate_latest(_WithoutCreated(merged))
