"""gaia's side: cumulative request totals per app, and the last seconds for the table.

Workers send deltas and gaia only ever adds them, so a worker that is recycled or a
generation that is replaced can never make a counter go backwards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from gaia_runner.metrics.wire import BOUNDS, N_BUCKETS, PROMETHEUS_BOUNDS, Batch

WINDOW = 10.0  # seconds behind p50, p99 and 5xx in the table: enough requests to rank
# Seconds behind req/s: a recent rate, so a 2-second burst shows at its rate, not averaged
# over 10 s. Workers send about every half second, so this spans several batches each.
RATE_WINDOW = 2.0
# A worker's in-flight reading older than this is gone (the worker exited, or it stopped
# sending): a busy worker sends every half second.
INFLIGHT_STALE = 2.0
MAX_APPS = 1000  # datagrams naming more apps than this are dropped
# Status codes counted apart per app; later ones share the series code="other". A real
# app uses a handful; a same-uid process spoofing hundreds must not make every scrape
# render (and gaia's loop build) hundreds of thousands of series.
MAX_CODES = 30
OTHER_CODE = 0
MAX_PIDS = 1000  # workers whose in-flight count an app keeps at once


@dataclass(frozen=True)
class WindowStats:
    requests_per_second: float
    p50: float | None  # seconds; None without requests
    p99: float | None
    errors_5xx_share: float | None  # 0..1 of the requests in the window
    loop_lag: float | None = None  # seconds, the worst in the window; None if not asyncio
    # The wait before the app (a trusted proxy's X-Request-Start); None without stamps.
    wait_p50: float | None = None
    wait_p99: float | None = None
    in_flight: int = 0  # requests being served now, summed over the workers that said so


def quantile(buckets: list[int], q: float) -> float | None:
    """Estimate from bucket counts, linear inside the bucket the rank falls in."""
    total = sum(buckets)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, n in enumerate(buckets):
        if n and seen + n >= rank:
            lower = BOUNDS[index - 1] if index > 0 else 0.0
            upper = BOUNDS[index] if index < len(BOUNDS) else lower
            return lower + (upper - lower) * max(0.0, rank - seen) / n
        seen += n
    return BOUNDS[-1]


def cumulative(buckets: list[int]) -> list[tuple[float, int]]:
    """(le, count <= le) for each Prometheus bound, then +Inf, from fine bucket counts."""
    out: list[tuple[float, int]] = []
    running, index = 0, 0
    for bound in PROMETHEUS_BOUNDS:
        while index < len(BOUNDS) and BOUNDS[index] <= bound:
            running += buckets[index]
            index += 1
        out.append((bound, running))
    out.append((float("inf"), sum(buckets)))
    return out


@dataclass
class AppRequests:
    codes: dict[int, int] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * N_BUCKETS)
    seconds: float = 0.0
    slow: int = 0  # requests past slow_request
    blocked: int = 0  # event loop stretches past blocked_loop
    queue: list[int] = field(default_factory=lambda: [0] * N_BUCKETS)  # X-Request-Start waits
    queue_seconds: float = 0.0
    first_seen: float | None = None
    recent: deque[tuple[float, Batch]] = field(default_factory=deque)
    inflight: dict[int, tuple[float, int]] = field(default_factory=dict)  # pid -> (seen, n)

    @property
    def count(self) -> int:
        return sum(self.codes.values())

    def add(self, batch: Batch, now: float) -> None:
        if self.first_seen is None:
            self.first_seen = now
        for code, n in batch.codes.items():
            if code not in self.codes and len(self.codes) >= MAX_CODES:
                code = OTHER_CODE
            self.codes[code] = self.codes.get(code, 0) + n
        for index, n in batch.buckets.items():
            self.buckets[index] += n
        self.seconds += batch.seconds
        for index, n in batch.queue.items():
            self.queue[index] += n
        self.queue_seconds += batch.queue_seconds
        self.slow += batch.slow
        self.blocked += batch.blocked
        self.recent.append((now, batch))
        # Capped as codes are: a same-uid process spoofing pids must not grow it for good.
        if batch.inflight is not None and (
            batch.pid in self.inflight or len(self.inflight) < MAX_PIDS
        ):
            self.inflight[batch.pid] = (now, batch.inflight)
        self._forget(now)

    def _forget(self, now: float) -> None:
        while self.recent and self.recent[0][0] < now - WINDOW:
            self.recent.popleft()
        for pid, (seen, n) in list(self.inflight.items()):
            if not n or seen < now - INFLIGHT_STALE:
                del self.inflight[pid]

    def cumulative_buckets(self) -> list[tuple[float, int]]:
        """(le, count of requests <= le) for each Prometheus bound, then +Inf."""
        return cumulative(self.buckets)

    def cumulative_queue(self) -> list[tuple[float, int]]:
        """The same for the waits before the app (X-Request-Start)."""
        return cumulative(self.queue)

    def window(self, now: float, lag_window: float = WINDOW) -> WindowStats:
        self._forget(now)
        buckets = [0] * N_BUCKETS
        waits = [0] * N_BUCKETS
        count = errors = recent = 0
        lags = [
            batch.lag
            for seen, batch in self.recent
            if batch.lag is not None and seen >= now - lag_window
        ]
        for seen, batch in self.recent:
            for index, n in batch.buckets.items():
                buckets[index] += n
            for index, n in batch.queue.items():
                waits[index] += n
            for code, n in batch.codes.items():
                count += n
                if code >= 500:
                    errors += n
            if seen >= now - RATE_WINDOW:
                recent += sum(batch.codes.values())
        # Just started: the rate is over the time gaia has been hearing, not the full window.
        heard = RATE_WINDOW if self.first_seen is None else max(1.0, now - self.first_seen)
        return WindowStats(
            requests_per_second=recent / min(RATE_WINDOW, heard),
            p50=quantile(buckets, 0.5),
            p99=quantile(buckets, 0.99),
            errors_5xx_share=errors / count if count else None,
            loop_lag=max(lags) if lags else None,
            wait_p50=quantile(waits, 0.5),
            wait_p99=quantile(waits, 0.99),
            in_flight=sum(n for _, n in self.inflight.values()),
        )


class RequestStore:
    def __init__(self, lag_window: float = WINDOW) -> None:
        self.apps: dict[str, AppRequests] = {}
        # The loop lag is the worst over this many seconds (at most WINDOW): a test shortens
        # it so an ASGI app is seen idle sooner after a burst (GAIA_LAG_WINDOW).
        self.lag_window = min(lag_window, WINDOW)

    def add(self, batch: Batch, now: float) -> None:
        app = self.apps.get(batch.app)
        if app is None:
            if len(self.apps) >= MAX_APPS:
                return
            app = self.apps[batch.app] = AppRequests()
        app.add(batch, now)

    def add_all(self, batches: Iterable[Batch], now: float) -> None:
        for batch in batches:
            self.add(batch, now)

    def slow(self, app: str) -> tuple[int, int]:
        """(slow requests, blocked loop stretches) since gaia started."""
        requests = self.apps.get(app)
        return (requests.slow, requests.blocked) if requests is not None else (0, 0)

    def window(self, app: str, now: float) -> WindowStats:
        requests = self.apps.get(app)
        if requests is None:
            return WindowStats(0.0, None, None, None)
        return requests.window(now, self.lag_window)
