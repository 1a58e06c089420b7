"""Adaptive workers: how many workers an app with `workers = { min, max }` should run,
decided from a stream of measurements. Pure: no clock, no I/O (the sampler passes
both in), so a unit test drives it with made-up readings.

Pressure is measured, not guessed: connections waiting in the kernel's accept queue
(sync workers accept one connection at a time, so a queue means every worker is busy)
or a lagging event loop (asyncio workers accept eagerly: their queue stays empty), or
every thread of a gthread app busy (it accepts eagerly too: its requests wait inside).
It must last `up_after` before workers are added, and the app must be idle for
`down_after` before each one is retired, so a steady load does not flap.

An asyncio worker's CPU is not a signal of its own: a loop too busy to keep up shows as
lag (and, since it accepts from the loop, as a queue), and a busy worker with neither is
keeping up, so one more would only cost memory. A saturated machine holds workers back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gaia_runner.config.model import WorkersRange
from gaia_runner.model.units import format_size

LAG_BUSY = 0.1
"""Seconds of event-loop lag that mean an asyncio worker cannot keep up."""
ALL_BUSY = 0.9
"""Share of a gthread app's threads (threads x workers) in flight that means all are busy:
below 1, since in-flight counts are read between requests, when a thread is briefly free."""
CPU_SATURATED = 0.95
"""Share of the CPUs gaia may use that is busy: another worker then only adds latency."""


@dataclass(frozen=True)
class Sample:
    now: float  # seconds, monotonic
    workers: int  # the count the app runs now
    queue: int | None = None  # connections no worker has accepted; None: unreadable
    loop_lag: float | None = None  # seconds, the worst worker's; None: not measured
    worker_bytes: int | None = None  # the average worker's memory
    app_bytes: int | None = None  # the whole tree's memory
    app_limit: int | None = None  # memory.total
    available_bytes: int | None = None  # MemAvailable, or what the cgroup's memory.max leaves
    cpu_busy: float | None = None  # 0..1 of the CPUs gaia may use
    busy: float | None = None  # requests being served on average (rate x latency)
    threads: int = 1  # requests one worker serves at once
    in_flight: int | None = None  # requests inside a gthread app's workers; None: not one

    @property
    def all_busy(self) -> bool:
        if self.in_flight is None:
            return False
        return self.in_flight >= ALL_BUSY * self.threads * self.workers

    @property
    def pressure(self) -> str | None:
        """What says requests are waiting, in the words of the event log."""
        if self.queue:
            return f"accept queue {self.queue}"
        if self.loop_lag is not None and self.loop_lag >= LAG_BUSY:
            return f"event loop lag {self.loop_lag * 1000:.0f}ms"
        if self.all_busy:
            return f"{self.in_flight} of {self.threads * self.workers} threads busy"
        return None


@dataclass(frozen=True)
class ScaleDecision:
    workers: int  # equal to the sample's when the change is held back
    reason: str

    def describe(self, was: int) -> str:
        if self.workers == was:
            return f"{was} workers held: {self.reason}"
        return f"{was} -> {self.workers} workers: {self.reason}"


class Policy:
    def __init__(self, limits: WorkersRange, cpu_saturated: float = CPU_SATURATED) -> None:
        self.limits = limits
        self.cpu_saturated = cpu_saturated
        self._busy_since: float | None = None
        self._idle_since: float | None = None
        self._held: str | None = None  # the hold last reported, said once per burst

    def decide(self, sample: Sample) -> ScaleDecision | None:
        """A change (or a hold worth an event), or None: nothing to say."""
        pressure = sample.pressure
        if pressure is None:
            self._busy_since, self._held = None, None
            if not self._quiet(sample):
                self._idle_since = None
                return None
            return self._down(sample)
        self._idle_since = None
        if self._busy_since is None:
            self._busy_since = sample.now
        lasted = sample.now - self._busy_since
        if lasted < self.limits.up_after or sample.workers >= self.limits.max:
            return None
        return self._up(sample, f"{pressure} for {lasted:.1f}s")

    def _up(self, sample: Sample, why: str) -> ScaleDecision | None:
        wanted = max(1, math.ceil((sample.queue or 0) / 2))  # a worker per 2 waiting, or 1
        add = min(wanted, self.limits.step, self.limits.max - sample.workers)
        room, limited_by = self._room(sample)
        if room is not None and room < add:
            add = room
        if add <= 0:
            return self._hold(sample, why, limited_by)
        # The next step waits for its own `up_after`: the new workers may be enough.
        self._busy_since = sample.now
        self._held = None
        return ScaleDecision(sample.workers + add, why)

    def _room(self, sample: Sample) -> tuple[int | None, str]:
        """How many more workers memory and CPU allow; None: no limit is known."""
        if sample.cpu_busy is not None and sample.cpu_busy >= self.cpu_saturated:
            return 0, f"CPU is saturated ({sample.cpu_busy:.0%})"
        size = sample.worker_bytes
        if not size:
            return None, ""
        room: int | None = None
        limited_by = ""
        if sample.app_limit is not None and sample.app_bytes is not None:
            room = (sample.app_limit - sample.app_bytes) // size
            limited_by = (
                f"memory.total {format_size(sample.app_limit)} leaves no room for "
                f"a worker of {format_size(size)}"
            )
        if sample.available_bytes is not None:
            by_machine = sample.available_bytes // size
            if room is None or by_machine < room:
                room = by_machine
                limited_by = (
                    f"{format_size(sample.available_bytes)} available leaves no room "
                    f"for a worker of {format_size(size)}"
                )
        return (None if room is None else max(room, 0)), limited_by

    def _hold(self, sample: Sample, why: str, limited_by: str) -> ScaleDecision | None:
        if limited_by == self._held:
            return None
        self._held = limited_by
        return ScaleDecision(sample.workers, f"{why}, but {limited_by}")

    @staticmethod
    def _quiet(sample: Sample) -> bool:
        """One worker fewer would still leave half its capacity spare: the hysteresis
        that keeps a steady load from retiring the worker it needs."""
        if sample.busy is None:
            return True
        return sample.busy <= (sample.workers - 1) * sample.threads / 2

    def _down(self, sample: Sample) -> ScaleDecision | None:
        if sample.workers <= self.limits.min:
            self._idle_since = None
            return None
        if self._idle_since is None:
            self._idle_since = sample.now
            return None
        idle = sample.now - self._idle_since
        if idle < self.limits.down_after:
            return None
        self._idle_since = sample.now  # one at a time, each after its own quiet period
        return ScaleDecision(sample.workers - 1, f"idle for {idle:.1f}s")
