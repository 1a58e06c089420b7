"""CPU seconds of an app as a counter that only grows: each process's CPU time is added as
it grows, and what a process used stays counted after it exits (a recycled worker, an old
generation)."""

from __future__ import annotations

from collections.abc import Iterable


class CpuCounter:
    def __init__(self) -> None:
        self.total = 0.0
        self._last: dict[int, float] = {}

    def observe(self, processes: Iterable[tuple[int, float]]) -> None:
        """(pid, CPU seconds so far) for every live process of the app."""
        current: dict[int, float] = {}
        for pid, seconds in processes:
            before = self._last.get(pid, 0.0)
            # Less than before: the pid was reused by a new process, which starts at zero.
            self.total += seconds - before if seconds >= before else seconds
            current[pid] = seconds
        self._last = current
