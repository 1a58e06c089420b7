"""A closed-loop burst: `clients` threads each send a request as soon as the last one
answered, on a fresh connection, never retrying, for a bounded time. Every answer keeps
its latency and the pid that served it (the body of bench/apps/sleepy.py), so the first
answer from a pid not seen before the burst is the moment an added worker serves."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class BurstResult:
    started: float  # monotonic
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    first_new_pid_at: float | None = None  # seconds after the start

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1]


def burst(port: int, clients: int, seconds: float, known: set[str]) -> BurstResult:
    result = BurstResult(time.monotonic())
    lock = threading.Lock()
    end = result.started + seconds

    def one() -> None:
        while (now := time.monotonic()) < end:
            body = _get(port)
            took = time.monotonic() - now
            with lock:
                if body is None:
                    result.failed += 1
                    continue
                result.latencies.append(took)
                if body not in known and result.first_new_pid_at is None:
                    result.first_new_pid_at = time.monotonic() - result.started

    threads = [threading.Thread(target=one, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 35)  # a request's own timeout bounds the last one
    return result


def _get(port: int) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    return body if response.status == 200 else None
