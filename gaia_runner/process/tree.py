"""Read a running process tree with psutil: which processes are workers, and what they cost."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

from gaia_runner.dev.warm import FORKED_WORKER_NAME

_UVICORN_WORKER_MARK = "multiprocessing.spawn"


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    uss: int  # memory freed if this process died: what a per-worker limit is about
    pss: int  # fair share of shared pages: these add up without double counting
    cpu_percent: float
    cpu_seconds: float = 0.0  # user + system since the process started


@dataclass(frozen=True)
class TreeSample:
    root: ProcessSample | None
    workers: tuple[ProcessSample, ...]
    others: tuple[ProcessSample, ...] = ()
    # Each root and every process below it when sampled, live or not: where daemons
    # that later leave the tree came from (see orphans.py).
    lineage: tuple[tuple[int, tuple[int, ...]], ...] = ()

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
    def processes(self) -> tuple[ProcessSample, ...]:
        return (*([self.root] if self.root else []), *self.workers, *self.others)

    @property
    def largest_worker(self) -> ProcessSample | None:
        return max(self.workers, key=lambda p: p.uss, default=None)


def child_pids(pid: int) -> list[int]:
    """Direct children, from /proc/PID/task/*/children: psutil's children() reads the stat
    file of every process on the machine to find them, which made an idle gaia busy.
    (Plain strings and os calls: this runs for every process of every app each sample.)"""
    base = f"/proc/{pid}/task/"
    try:
        tasks = os.listdir(base)  # noqa: PTH208 (pathlib doubles the cost here)
    except OSError:
        return []
    found: list[int] = []
    readable = False
    for task in tasks:
        try:
            with open(f"{base}{task}/children", "rb") as file:
                found += [int(p) for p in file.read().split()]
            readable = True
        except OSError:
            continue
    if not readable:  # a kernel without CONFIG_PROC_CHILDREN
        with contextlib.suppress(psutil.Error):
            return [c.pid for c in psutil.Process(pid).children()]
    return found


def descendant_pids(pid: int, children: list[int] | None = None) -> list[int]:
    """Every process below `pid`; `children`, when already read, are its direct ones."""
    out: list[int] = []
    queue = list(children) if children is not None else child_pids(pid)
    while queue:
        child = queue.pop()
        out.append(child)
        queue += child_pids(child)
    return out


def is_worker(proc: psutil.Process, server: str) -> bool:
    """Gunicorn forks only workers; uvicorn also starts a resource tracker we must not count.
    Its workers are spawned, or in dev mode forked (and named so)."""
    if server != "uvicorn":
        return True
    try:
        if proc.name() == FORKED_WORKER_NAME:
            return True
        return any(_UVICORN_WORKER_MARK in part for part in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def worker_processes(root_pid: int, server: str) -> list[psutil.Process]:
    children: list[psutil.Process] = []
    for pid in child_pids(root_pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            children.append(psutil.Process(pid))
    return [c for c in children if is_worker(c, server)]


class TreeSampler:
    """Keeps psutil handles between samples: cpu_percent is a delta since the last call."""

    def __init__(self) -> None:
        self._handles: dict[int, psutil.Process] = {}
        self._memory: dict[int, tuple[int, int]] = {}
        self._cpu: dict[int, tuple[float, float]] = {}  # pid -> (cpu seconds, when)
        self._workers: set[int] = set()  # once a worker (past exec), always one

    def _sample(self, pid: int, full: bool) -> ProcessSample | None:
        """USS/PSS come from smaps, which costs far more than the rest: unless `full`,
        the last reading of a known process is reused."""
        handle = self._handles.get(pid)
        try:
            if handle is None:
                handle = self._handles[pid] = psutil.Process(pid)
            with handle.oneshot():
                times = handle.cpu_times()
                if full or pid not in self._memory:
                    try:
                        info = handle.memory_full_info()
                        self._memory[pid] = (info.uss, getattr(info, "pss", info.uss))
                    except psutil.AccessDenied:
                        rss = handle.memory_info().rss
                        self._memory[pid] = (rss, rss)
            uss, pss = self._memory[pid]
            seconds = times.user + times.system
            return ProcessSample(pid, uss, pss, self._cpu_percent(pid, seconds), seconds)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            self._forget(pid)
            return None

    def _cpu_percent(self, pid: int, seconds: float) -> float:
        """As psutil's cpu_percent(None) (0.0 the first time), without its cpu_count()
        and second read of the stat file per call."""
        now = time.monotonic()
        last = self._cpu.get(pid)
        self._cpu[pid] = (seconds, now)
        if last is None or now <= last[1]:
            return 0.0
        return max(0.0, 100.0 * (seconds - last[0]) / (now - last[1]))

    def _is_worker(self, pid: int, server: str) -> bool:
        if pid in self._workers:
            return True
        # Not cached when false: a spawned uvicorn worker has its parent's command line
        # until it execs.
        found = is_worker(self._handles[pid], server)
        if found:
            self._workers.add(pid)
        return found

    def _forget(self, pid: int) -> None:
        self._handles.pop(pid, None)
        self._memory.pop(pid, None)
        self._cpu.pop(pid, None)
        self._workers.discard(pid)

    def sample(self, roots: Sequence[int], server: str, full: bool = True) -> TreeSample:
        """A server has one root (the master) whose direct children are workers; a plain
        command has one root per copy, and each copy is a worker."""
        seen: set[int] = set()
        workers: list[ProcessSample] = []
        others: list[ProcessSample] = []
        root: ProcessSample | None = None
        lineage: list[tuple[int, tuple[int, ...]]] = []
        for root_pid in roots:
            seen.add(root_pid)
            top = self._sample(root_pid, full)
            if server == "command":
                if top is not None:
                    workers.append(top)
            else:
                root = top
            direct = child_pids(root_pid)
            direct_children = set(direct)
            below = descendant_pids(root_pid, direct)
            lineage.append((root_pid, tuple(below)))
            for pid in below:
                seen.add(pid)
                sample = self._sample(pid, full)
                if sample is None:
                    continue
                is_a_worker = (
                    server != "command" and pid in direct_children and self._is_worker(pid, server)
                )
                (workers if is_a_worker else others).append(sample)
        for stale in set(self._handles) - seen:
            self._forget(stale)
        return TreeSample(root, tuple(workers), tuple(others), tuple(lineage))
