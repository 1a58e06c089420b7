"""Watchers that judge a live generation: health checks, memory limits, worker crash loops.

Each watcher either acts in place (recycling one worker) or returns a Condemned
verdict, which makes the supervisor stop the tree and restart it with backoff.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from gaia_runner.model.units import format_size
from gaia_runner.process.generation import Generation
from gaia_runner.process.tree import TreeSample, worker_processes
from gaia_runner.supervise.timing import Timings

TURNOVER_POLL = 0.1


class MonitorHost(Protocol):
    """What a watcher needs from whoever supervises the generation it watches."""

    @property
    def timings(self) -> Timings: ...
    @property
    def stop_timeout(self) -> float: ...
    @property
    def sample(self) -> TreeSample | None: ...
    @property
    def current(self) -> Generation | None: ...
    async def next_sample(self) -> TreeSample: ...
    def log_event(self, message: str) -> None: ...
    def count_restart(self, label: str) -> None: ...


@dataclass(frozen=True)
class Condemned:
    reason: str  # the sentence shown to the user
    label: str = ""  # the short restart reason for the table ("health", "memory", ...)

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.reason)


@dataclass
class WorkerTurnover:
    """Counts replacement workers over a sliding window. The first `expected` workers
    are the initial set, however slowly they boot; every worker after them replaces one."""

    window: float
    expected: int
    seen: set[int] = field(default_factory=set)
    births: collections.deque[float] = field(default_factory=collections.deque)

    def observe(self, now: float, pids: Iterable[int]) -> int:
        for pid in sorted(set(pids) - self.seen):
            if len(self.seen) >= self.expected:
                self.births.append(now)
            self.seen.add(pid)
        while self.births and now - self.births[0] > self.window:
            self.births.popleft()
        return len(self.births)


@dataclass
class StartingWorkers:
    """Before the app has ever answered, one worker that dies already says the start
    failed: uvicorn would respawn an import error ~4 times a second. A worker seen and
    now gone (a reaped or zombie uvicorn worker is not listed), or one beyond the
    initial set (a replacement the watch did not see die), ends the start."""

    expected: int
    seen: set[int] = field(default_factory=set)

    def observe(self, pids: Iterable[int]) -> str | None:
        alive = set(pids)
        gone = sorted(self.seen - alive)
        replaced = len(self.seen) >= self.expected and bool(alive - self.seen)
        self.seen |= alive
        if gone:
            return f"worker {gone[0]} died before the app answered"
        if replaced:
            return "a worker was replaced before the app answered"
        return None


@dataclass
class OverLimit:
    """Per-worker count of consecutive samples over a limit: one spike is not a leak."""

    needed: int
    counts: dict[int, int] = field(default_factory=dict)

    def observe(self, over: Iterable[int], alive: Iterable[int]) -> list[int]:
        over_set = set(over)
        self.counts = {pid: self.counts.get(pid, 0) + 1 for pid in over_set}
        alive_set = set(alive)
        self.counts = {pid: n for pid, n in self.counts.items() if pid in alive_set}
        return [pid for pid, n in self.counts.items() if n >= self.needed]

    def forget(self, pid: int) -> None:
        self.counts.pop(pid, None)


async def watch_crash_loop(sup: MonitorHost, gen: Generation, serving: bool) -> Condemned:
    """A master that keeps replacing dying workers looks alive but serves nothing."""
    if gen.server == "command":
        await asyncio.Event().wait()  # copies are gaia's own children: first_exit sees them
    if not serving:
        return await _watch_start(gen)
    turnover = WorkerTurnover(window=sup.timings.crash_window, expected=gen.workers_desired)
    while True:
        # Once serving, a crash loop also has to stop answering, so each fresh sample of
        # the tree is enough: no timer and no second pass over /proc of its own.
        sample = await sup.next_sample()
        if sup.current is not gen:
            continue
        births = turnover.observe(time.monotonic(), [w.pid for w in sample.workers])
        if births < sup.timings.crash_limit or (await gen.probe("/", timeout=2.0)).answered:
            continue
        return Condemned(
            f"worker crash loop: {births} workers replaced within {turnover.window:g}s",
            "worker crash loop",
        )


async def _watch_start(gen: Generation) -> Condemned:
    """Workers that die at import live a fraction of a second: look often, and end the
    start at the death rather than at the replacement (a new interpreter each time)."""
    workers = StartingWorkers(gen.workers_desired)
    while True:
        await asyncio.sleep(TURNOVER_POLL)
        found = await asyncio.to_thread(worker_processes, gen.leader.pid, gen.server)
        failed = workers.observe(p.pid for p in found)
        if failed is not None:
            return Condemned(failed, "worker died")


async def watch_health(sup: MonitorHost, gen: Generation) -> Condemned:
    health = gen.app.health
    assert health is not None
    failures = 0
    while True:
        await asyncio.sleep(health.interval)
        result = await gen.probe(health.path, timeout=health.timeout)
        if result.healthy:
            failures = 0
            continue
        failures += 1
        why = f"HTTP {result.status}" if result.status is not None else result.error
        sup.log_event(f"health check {health.path} failed ({failures}/{health.failures}): {why}")
        if failures >= health.failures:
            return Condemned(f"health check {health.path} failed {failures} times: {why}", "health")


async def watch_memory(sup: MonitorHost, gen: Generation) -> Condemned:
    """Recycle single workers in place; the tree is never condemned for memory."""
    limits = gen.app.memory
    assert limits is not None
    worker_over = OverLimit(limits.samples)
    total_over = OverLimit(limits.samples)
    while True:
        # The sampler reads the tree every `limits.interval` for an app with limits:
        # each fresh sample is looked at once, so "samples in a row" are real samples.
        sample = await sup.next_sample()
        if sup.current is not gen:
            continue
        alive = [w.pid for w in sample.workers]
        over = [w.pid for w in sample.workers if limits.worker and w.uss > limits.worker]
        for pid in worker_over.observe(over, alive):
            size = next(w.uss for w in sample.workers if w.pid == pid)
            worker_over.forget(pid)
            await _recycle(sup, gen, pid, f"worker {pid} uses {format_size(size)}")
        total_is_over = bool(limits.total and sample.total_pss > limits.total)
        largest = sample.largest_worker
        if largest is not None and total_over.observe([0] if total_is_over else [], [0]):
            total_over.forget(0)
            await _recycle(
                sup, gen, largest.pid, f"app uses {format_size(sample.total_pss)} in total"
            )


async def _recycle(sup: MonitorHost, gen: Generation, pid: int, why: str) -> None:
    """TERM one worker: it finishes its in-flight requests and its master replaces it."""
    sup.log_event(f"recycling worker {pid}: {why} (memory limit)")
    sup.count_restart("memory")
    if gen.server == "command":
        try:
            await gen.respawn_copy(pid, sup.stop_timeout)
        except OSError as exc:  # the copy keeps serving; the next sample tries again
            sup.log_event(f"could not start a copy to replace worker {pid}: {exc}")
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


async def watch_generation(sup: MonitorHost, gen: Generation) -> Condemned:
    watchers = [watch_crash_loop(sup, gen, serving=True)]
    if gen.app.health is not None and gen.private is not None:
        watchers.append(watch_health(sup, gen))
    if gen.app.memory is not None:
        watchers.append(watch_memory(sup, gen))
    tasks = [asyncio.ensure_future(w) for w in watchers]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            task.cancel()
