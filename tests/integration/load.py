"""A bounded, steady loopback load with no retries and no keep-alive: every failure counts."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)


class SteadyLoad:
    """`rate` requests per second for `duration` seconds, spread over a few threads."""

    def __init__(
        self, port: int, rate: float = 200, duration: float = 10, path: str = "/", threads: int = 8
    ) -> None:
        self.port, self.rate, self.duration, self.path = port, rate, duration, path
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i, threads), daemon=True)
            for i in range(threads)
        ]

    def __enter__(self) -> SteadyLoad:
        self._start = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()

    def end_after(self, seconds: float) -> None:
        """End the load `seconds` from now, if it was to run longer: the changes it was there
        for are done, and `seconds` more of it still meets what follows them. `duration` is
        the deadline for a slow machine, not a time every run must wait out."""
        self.duration = min(self.duration, time.monotonic() - self._start + seconds)

    def join(self) -> LoadResult:
        for t in self._threads:
            t.join(self.duration + 30)
        return self.result

    def _run(self, index: int, count: int) -> None:
        interval = count / self.rate
        n = 0
        while True:
            due = self._start + (index / count) * interval + n * interval
            if due - self._start > self.duration:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            n += 1
            self._one()

    def _one(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", self.path, headers={"Connection": "close"})
            response = conn.getresponse()
            body = response.read().decode()
            good = response.status == 200
        except (OSError, http.client.HTTPException) as exc:
            good, body = False, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        with self._lock:
            if good:
                self.result.ok += 1
                self.result.bodies.append(body)
            else:
                self.result.failed += 1
                self.result.errors.append(body)
