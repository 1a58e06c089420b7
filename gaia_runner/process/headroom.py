"""What the machine (or the cgroup gaia runs in) has left: memory available and how busy
its CPUs are. Adaptive workers read these before adding one: a worker that does not fit
in memory gets the app OOM-killed, and one more on saturated CPUs only adds latency."""

from __future__ import annotations

import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
MEMINFO = Path("/proc/meminfo")
PROC_STAT = Path("/proc/stat")


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def memory_available(cgroup: Path = CGROUP, meminfo: Path = MEMINFO) -> int | None:
    """The smaller of the kernel's MemAvailable and what the cgroup's memory.max leaves;
    None when neither can be read."""
    found: list[int] = []
    for line in (_read(meminfo) or "").splitlines():
        if line.startswith("MemAvailable:"):
            found.append(int(line.split()[1]) * 1024)
    limit, current = _read(cgroup / "memory.max"), _read(cgroup / "memory.current")
    if limit and current and limit.strip() != "max":
        found.append(max(int(limit) - int(current), 0))
    return min(found) if found else None


class CpuBusy:
    """The share of the CPUs gaia may use that was busy since the last reading: the cgroup's
    usage against its quota when it has one, else the whole machine's /proc/stat."""

    def __init__(self, cgroup: Path = CGROUP, stat: Path = PROC_STAT) -> None:
        self.cgroup, self.stat = cgroup, stat
        self._last: tuple[float, float] | None = None  # (busy seconds, capacity seconds)

    def _counters(self) -> tuple[float, float] | None:
        quota = (_read(self.cgroup / "cpu.max") or "max").split()
        usage = _read(self.cgroup / "cpu.stat")
        if quota[0] != "max" and usage is not None:
            cpus = int(quota[0]) / int(quota[1])
            busy = next(int(ln.split()[1]) for ln in usage.splitlines() if ln.startswith("usage_"))
            now = os.times().elapsed
            return busy / 1e6, now * cpus
        text = _read(self.stat)
        if text is None:
            return None
        ticks = [int(v) for v in text.splitlines()[0].split()[1:]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        return float(sum(ticks) - idle), float(sum(ticks))

    def __call__(self) -> float | None:
        try:
            now = self._counters()
        except (ValueError, IndexError, StopIteration, ZeroDivisionError):
            return None
        last, self._last = self._last, now
        if now is None or last is None or now[1] <= last[1]:
            return None
        return min(max((now[0] - last[0]) / (now[1] - last[1]), 0.0), 1.0)
