"""The Prometheus text gaia serves at /metrics, built from a snapshot and the request totals
at the moment of the scrape."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import Collector, CollectorRegistry

from gaia_runner.metrics.store import OTHER_CODE, AppRequests
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.model.state import AppState


@dataclass(frozen=True)
class Scrape:
    snapshot: Snapshot
    requests: Mapping[str, AppRequests]


class GaiaCollector(Collector):
    def __init__(self, source: Callable[[], Scrape]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        scrape = self.source()
        # Only apps gaia runs: any same-uid process can send datagrams naming others.
        names = {app.name for app in scrape.snapshot.apps}
        yield from _request_metrics({n: r for n, r in scrape.requests.items() if n in names})
        yield from _app_metrics(scrape.snapshot)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _request_metrics(requests: Mapping[str, AppRequests]) -> Iterator[Metric]:
    total = CounterMetricFamily(
        "gaia_requests", "HTTP requests served, by status code.", labels=["app", "code"]
    )
    duration = HistogramMetricFamily(
        "gaia_request_duration_seconds",
        "Time from the request reaching the app to its response being sent.",
        labels=["app"],
    )
    queue = HistogramMetricFamily(
        "gaia_request_queue_seconds",
        "Time from the proxy's X-Request-Start stamp to the request reaching the app.",
        labels=["app"],
    )
    slow = CounterMetricFamily(
        "gaia_slow_requests",
        "Requests still in flight after slow_request (each has its stack in the app's log).",
        labels=["app"],
    )
    blocked = CounterMetricFamily(
        "gaia_blocked_loops",
        "Stretches in which a worker's event loop did not run for blocked_loop or longer.",
        labels=["app"],
    )
    for app, stats in sorted(requests.items()):
        slow.add_metric([app], stats.slow)
        blocked.add_metric([app], stats.blocked)
        for code, n in sorted(stats.codes.items()):
            total.add_metric([app, str(code) if code != OTHER_CODE else "other"], n)
        buckets = [(_le(le), float(n)) for le, n in stats.cumulative_buckets()]
        duration.add_metric([app], buckets, sum_value=stats.seconds)
        if any(stats.queue):  # only apps behind a proxy that stamps its requests
            waits = [(_le(le), float(n)) for le, n in stats.cumulative_queue()]
            queue.add_metric([app], waits, sum_value=stats.queue_seconds)
    yield total
    yield duration
    yield queue
    yield slow
    yield blocked


def _app_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    up = GaugeMetricFamily("gaia_app_up", "1 while the app is RUNNING (serving).", labels=["app"])
    state = GaugeMetricFamily(
        "gaia_app_state",
        "1 for the state the app is in, 0 for the others.",
        labels=["app", "state"],
    )
    restarts = CounterMetricFamily(
        "gaia_app_restarts", "Restarts by reason.", labels=["app", "reason"]
    )
    workers = GaugeMetricFamily("gaia_app_workers", "Live worker processes.", labels=["app"])
    desired = GaugeMetricFamily(
        "gaia_app_workers_desired", "Workers the app is told to run.", labels=["app"]
    )
    scales = CounterMetricFamily(
        "gaia_app_scale_events",
        "Worker counts changed by adaptive workers.",
        labels=["app", "direction"],
    )
    memory = GaugeMetricFamily(
        "gaia_app_memory_bytes", "PSS of the app's whole process tree.", labels=["app"]
    )
    cpu = CounterMetricFamily(
        "gaia_app_cpu_seconds", "CPU time used by the app's processes.", labels=["app"]
    )
    for app in snapshot.apps:
        up.add_metric([app.name], 1.0 if app.state is AppState.RUNNING else 0.0)
        for value in AppState:
            state.add_metric([app.name, value.value], 1.0 if app.state is value else 0.0)
        for reason, n in app.restart_reasons:
            restarts.add_metric([app.name, reason], n)
        workers.add_metric([app.name], app.workers_live)
        desired.add_metric([app.name], app.workers_desired)
        for direction, n in app.scale_events:
            scales.add_metric([app.name, direction], n)
        if app.memory_bytes is not None:
            memory.add_metric([app.name], app.memory_bytes)
        cpu.add_metric([app.name], app.cpu_seconds_total)
    yield from (up, state, restarts, workers, desired, scales, memory, cpu)


def make_registry(source: Callable[[], Scrape]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GaiaCollector(source))
    return registry


@dataclass(frozen=True)
class Encoded:
    body: bytes
    content_type: str
    gzip: bool


def encode(registry: CollectorRegistry, accept: str, accept_encoding: str) -> Encoded:
    """What the scraper asked for: OpenMetrics when its Accept names it (Prometheus does),
    else the text format; gzipped when its Accept-Encoding allows."""
    encoder, content_type = choose_encoder(accept)
    body = encoder(registry)
    zipped = gzip_accepted(accept_encoding)
    return Encoded(gzip.compress(body, compresslevel=6) if zipped else body, content_type, zipped)
