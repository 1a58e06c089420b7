"""Read a running process tree with psutil: which processes are workers, and what they cost."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

_UVICORN_WORKER_MARK = "multiprocessing.spawn"


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    uss: int  # memory freed if this process died: what a per-worker limit is about
    pss: int  # fair share of shared pages: these add up without double counting
    cpu_percent: float


@dataclass(frozen=True)
class TreeSample:
    root: ProcessSample | None
    workers: tuple[ProcessSample, ...]
    others: tuple[ProcessSample, ...] = ()

    @property
    def total_pss(self) -> int:
        everyone = [*self.workers, *self.others]
        if self.root is not None:
            everyone.append(self.root)
        return sum(p.pss for p in everyone)

    @property
    def cpu_percent(self) -> float:
        total = sum(p.cpu_percent for p in (*self.workers, *self.others))
        return total + (self.root.cpu_percent if self.root else 0.0)

    @property
    def largest_worker(self) -> ProcessSample | None:
        return max(self.workers, key=lambda p: p.uss, default=None)


def is_worker(proc: psutil.Process, server: str) -> bool:
    """Gunicorn forks only workers; uvicorn also starts a resource tracker we must not count."""
    if server != "uvicorn":
        return True
    try:
        return any(_UVICORN_WORKER_MARK in part for part in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def worker_processes(root_pid: int, server: str) -> list[psutil.Process]:
    try:
        children = psutil.Process(root_pid).children()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []
    return [c for c in children if is_worker(c, server)]


class TreeSampler:
    """Keeps psutil handles between samples: cpu_percent is a delta since the last call."""

    def __init__(self) -> None:
        self._handles: dict[int, psutil.Process] = {}

    def _sample(self, pid: int) -> ProcessSample | None:
        handle = self._handles.get(pid)
        try:
            if handle is None:
                handle = self._handles[pid] = psutil.Process(pid)
            with handle.oneshot():
                cpu = handle.cpu_percent(None)
                try:
                    info = handle.memory_full_info()
                    uss, pss = info.uss, getattr(info, "pss", info.uss)
                except psutil.AccessDenied:
                    uss = pss = handle.memory_info().rss
            return ProcessSample(pid, uss, pss, cpu)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            self._handles.pop(pid, None)
            return None

    def sample(self, roots: Sequence[int], server: str) -> TreeSample:
        """A server has one root (the master) whose direct children are workers; a plain
        command has one root per copy, and each copy is a worker."""
        seen: set[int] = set()
        workers: list[ProcessSample] = []
        others: list[ProcessSample] = []
        root: ProcessSample | None = None
        for root_pid in roots:
            seen.add(root_pid)
            top = self._sample(root_pid)
            if server == "command":
                if top is not None:
                    workers.append(top)
            else:
                root = top
            with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
                for child in psutil.Process(root_pid).children(recursive=True):
                    seen.add(child.pid)
                    sample = self._sample(child.pid)
                    if sample is None:
                        continue
                    direct = server != "command" and child.ppid() == root_pid
                    (workers if direct and is_worker(child, server) else others).append(sample)
        for stale in set(self._handles) - seen:
            del self._handles[stale]
        return TreeSample(root, tuple(workers), tuple(others))
