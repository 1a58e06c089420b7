"""Load generators: wrk for throughput, a thread client that counts every failure.

The counting client opens a new connection per request (keep-alive off), never retries, and
paces itself to a steady rate, so a restart that refuses or resets connections shows up as
failed requests instead of being absorbed by a retry or a reused connection.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

INSTALL_HINT = "install with: apt-get install -y wrk hey"


def missing_tools(*names: str) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p99_ms: float
    errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"cannot read latency {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if rps is None or p99 is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        errors += int(non2xx[1])
    return WrkResult(float(rps[1]), _ms(p99[1]), errors)


def wrk(port: int, seconds: float, threads: int = 2, connections: int = 64) -> WrkResult:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        f"http://127.0.0.1:{port}/",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    return parse_wrk(done.stdout)


@dataclass
class LoadCounts:
    ok: int = 0
    failed: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ok + self.failed


class SteadyLoad:
    """`threads` clients sharing `rate` requests/second, each on a fresh connection."""

    def __init__(
        self, port: int, rate: float = 200.0, threads: int = 4, path: str = "/", timeout: float = 5
    ) -> None:
        self.port, self.path, self.timeout = port, path, timeout
        self.interval = threads / rate
        self.counts = LoadCounts()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _one(self) -> str | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request("GET", self.path, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__
        else:
            return None if response.status == 200 else f"HTTP {response.status}"
        finally:
            conn.close()

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            error = self._one()
            with self._lock:
                if error is None:
                    self.counts.ok += 1
                else:
                    self.counts.failed += 1
                    self.counts.failures.append((time.monotonic(), error))
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> LoadCounts:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 2)
        return self.counts

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
