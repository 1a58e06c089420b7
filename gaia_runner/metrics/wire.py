"""What a worker sends gaia: request counts by status code and a latency histogram, as deltas.

One JSON datagram every half second or so per busy worker, never one per request. Both ends
are the same installed gaia, so they share the bucket bounds; a datagram built for other
bounds (or anything malformed) is dropped whole.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from dataclasses import dataclass, field

# prometheus_client's default buckets (what dashboards expect of a *_seconds histogram),
# with 0.5, 1 and 2.5 ms below them, so that histogram_quantile resolves a fast app as the
# table does, and 30 and 60 s above them for long tails.
PROMETHEUS_BOUNDS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    30.0,
    60.0,
)


def _fine_bounds() -> tuple[float, ...]:
    # ~25% apart from 100 us to 60 s: p50/p99 in the table are read from these. Every
    # Prometheus bound is one of them, so the exposed histogram is exact, not estimated.
    geometric = {round(0.0001 * 1.25**i, 7) for i in range(60) if 0.0001 * 1.25**i <= 60}
    return tuple(sorted(geometric | set(PROMETHEUS_BOUNDS)))


BOUNDS: tuple[float, ...] = _fine_bounds()
N_BUCKETS = len(BOUNDS) + 1  # the last one is +Inf
MAX_DATAGRAM = 60_000
# The inherited fd of the app's channel (see channels.py), named to its processes.
CHANNEL_ENV = "GAIA_METRICS_FD"
VERSION = 1


def bucket_index(seconds: float) -> int:
    """The first bucket whose upper bound is >= seconds (Prometheus' `le`)."""
    return bisect_left(BOUNDS, seconds)


@dataclass
class Batch:
    """Requests finished in one worker since its last batch."""

    app: str
    codes: dict[int, int] = field(default_factory=dict)
    buckets: dict[int, int] = field(default_factory=dict)  # bucket index -> count
    seconds: float = 0.0  # sum of durations
    slow: int = 0  # requests that went past slow_request (counted while still in flight)
    blocked: int = 0  # stretches in which the event loop was held past blocked_loop
    lag: float | None = None  # the worst event-loop lag seen (asyncio workers only)
    # Waits before the app saw the request, from a trusted proxy's X-Request-Start.
    queue: dict[int, int] = field(default_factory=dict)  # bucket index -> count
    queue_seconds: float = 0.0  # sum of those waits
    pid: int = 0  # the worker that sent it
    # Requests the worker was serving when it sent (a gauge, not a delta): a gthread worker
    # accepts eagerly, so its busy threads are its queue. None: unchanged and zero.
    inflight: int | None = None

    @property
    def count(self) -> int:
        return sum(self.codes.values())

    def add(self, other: Batch) -> None:
        for code, n in other.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.seconds += other.seconds
        self.slow += other.slow
        self.blocked += other.blocked
        if other.lag is not None:
            self.lag = max(self.lag or 0.0, other.lag)
        for index, n in other.queue.items():
            self.queue[index] = self.queue.get(index, 0) + n
        self.queue_seconds += other.queue_seconds

        if other.inflight is not None:  # a gauge: the later reading wins
            self.pid, self.inflight = other.pid, other.inflight

    def empty(self) -> bool:
        quiet = not self.codes and not self.slow and not self.blocked and not self.queue
        return quiet and self.lag is None and self.inflight is None


def encode(batch: Batch) -> bytes:
    message = {
        "v": VERSION,
        "n": N_BUCKETS,
        "app": batch.app,
        "c": {str(code): n for code, n in batch.codes.items()},
        "b": sorted(batch.buckets.items()),
        "s": batch.seconds,
        "sl": batch.slow,
        "lb": batch.blocked,
    }
    if batch.lag is not None:
        message["l"] = batch.lag
    if batch.queue:  # only behind a proxy that stamps X-Request-Start
        message["q"] = sorted(batch.queue.items())
        message["qs"] = batch.queue_seconds
    if batch.inflight is not None:
        message["p"], message["i"] = batch.pid, batch.inflight
    return json.dumps(message, separators=(",", ":")).encode()


# The source a record's lines carry in the app's log (`[slow] ...`): `gaia logs --slow`.
RECORD_TAG = "slow"
MAX_RECORD_LINES = 400
MAX_RECORD_LINE = 1000


def encode_record(lines: list[str]) -> bytes:
    """A slow-request or blocked-loop record: one datagram, so gaia writes it whole."""
    shown = [line[:MAX_RECORD_LINE] for line in lines[:MAX_RECORD_LINES]]
    data = json.dumps({"v": VERSION, "r": shown}, separators=(",", ":")).encode()
    while len(data) > MAX_DATAGRAM and len(shown) > 1:
        shown = [*shown[: len(shown) // 2], "  ... (cut)"]
        data = json.dumps({"v": VERSION, "r": shown}, separators=(",", ":")).encode()
    return data


def decode_record(data: bytes) -> list[str] | None:
    """The record's lines, or None when the datagram is not a record."""
    if len(data) > MAX_DATAGRAM or not data.startswith(b'{"v":1,"r":'):
        return None
    try:
        lines = json.loads(data)["r"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        return None
    # Each line of the record is one line of the log: no line breaks inside.
    return [" ".join(line.splitlines())[:MAX_RECORD_LINE] for line in lines[:MAX_RECORD_LINES]]


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("bad count")
    return value


def _histogram(pairs: object, into: dict[int, int]) -> dict[int, int] | None:
    """[[bucket index, count], ...] added into `into`; None if malformed."""
    if not isinstance(pairs, list):
        return None
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            return None
        index, n = _count(pair[0]), _count(pair[1])
        if index >= N_BUCKETS:
            return None
        into[index] = into.get(index, 0) + n
    return into


def decode(data: bytes) -> Batch | None:
    """None for anything that is not a well-formed batch of this gaia's shape."""
    if len(data) > MAX_DATAGRAM:
        return None
    try:
        message = json.loads(data)
        if not isinstance(message, dict) or message.get("v") != VERSION:
            return None
        app, codes, buckets, seconds = message["app"], message["c"], message["b"], message["s"]
        if message.get("n") != N_BUCKETS or not isinstance(app, str) or not 0 < len(app) <= 100:
            return None
        if not isinstance(codes, dict) or not isinstance(buckets, list):
            return None
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
            return None
        batch = Batch(app, seconds=float(seconds))
        batch.slow, batch.blocked = _count(message.get("sl", 0)), _count(message.get("lb", 0))
        if (lag := message.get("l")) is not None:
            if not isinstance(lag, int | float) or not math.isfinite(lag) or lag < 0:
                return None
            batch.lag = float(lag)
        if "i" in message:
            batch.pid, batch.inflight = _count(message["p"]), _count(message["i"])
        for code, n in codes.items():
            if not code.isdigit() or not 100 <= int(code) <= 999:
                return None
            batch.codes[int(code)] = _count(n)
        if _histogram(buckets, batch.buckets) is None:
            return None
        if "q" in message:
            queue_seconds = message.get("qs")
            if not isinstance(queue_seconds, int | float) or not math.isfinite(queue_seconds):
                return None
            if queue_seconds < 0 or _histogram(message["q"], batch.queue) is None:
                return None
            batch.queue_seconds = float(queue_seconds)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return batch
