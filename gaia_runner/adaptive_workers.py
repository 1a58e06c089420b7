"""Adaptive workers, wired: every app with `workers = { min, max }` is measured on a fixed
short period, its policy (supervise/adaptive.py) decides, the count goes into the desired
state and the supervisor scales in place (TTIN/TTOU), as for `gaia scale`.

The period is fixed, not the tree sampler's tick: that one backs off while an app is
idle, which is exactly the state before a burst.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from typing import Protocol

from gaia_runner.config.model import WorkerClass
from gaia_runner.desired import DesiredState
from gaia_runner.metrics.service import MetricsService
from gaia_runner.model.state import AppState
from gaia_runner.process.accept_queue import total_queue
from gaia_runner.process.headroom import CpuBusy, memory_available
from gaia_runner.supervise.adaptive import CPU_SATURATED, Policy, Sample
from gaia_runner.supervise.commands import Scale
from gaia_runner.supervise.supervisor import AppSupervisor

PERIOD = 0.1
CPU_PERIOD = 1.0  # CPU busy over a second: a 200 ms window is all noise


class ScaledRunner(Protocol):  # the runner as adaptive workers see it
    desired: DesiredState
    supervisors: dict[str, AppSupervisor]
    lock: asyncio.Lock

    def event(self, message: str) -> None: ...


class AdaptiveWorkers:
    def __init__(
        self,
        runner: ScaledRunner,
        metrics: MetricsService,
        cpu_saturated: float = CPU_SATURATED,
    ) -> None:
        self.runner, self.store, self.clock = runner, metrics.store, metrics.clock
        self.cpu_saturated = cpu_saturated
        self.policies: dict[str, Policy] = {}
        self.events: Counter[tuple[str, str]] = Counter()  # (app, "up"/"down") -> changes
        self._cpu = CpuBusy()
        self._cpu_busy: float | None = None
        self._cpu_at = 0.0

    async def run(self) -> None:
        failing = False
        while True:
            try:
                self.tick()
                failing = False
            except Exception as exc:  # a bug here must not end adaptive workers for good
                if not failing:
                    self.runner.event(f"adaptive workers: internal error {type(exc).__name__}")
                failing = True
            await asyncio.sleep(PERIOD)

    def tick(self) -> None:
        now = self.clock()
        if now - self._cpu_at >= CPU_PERIOD:
            self._cpu_busy, self._cpu_at = self._cpu(), now
        desired = self.runner.desired
        for name, sup in list(self.runner.supervisors.items()):
            # adapts() first: it is a lookup, and app() builds every app's config (200 apps
            # without a range cost gaia 3 % of a core here).
            limits = desired.adapts(name)
            app = desired.app(name) if limits is not None else None
            if limits is None or app is None or sup.state is not AppState.RUNNING:
                self.policies.pop(name, None)
                continue
            policy = self.policies.get(name)
            if policy is None or policy.limits != limits:
                policy = self.policies[name] = Policy(limits, self.cpu_saturated)
            # A reload or an operator's request is under way: decide after it.
            if self.runner.lock.locked():
                continue
            decision = policy.decide(self._sample(sup, app.workers, now))
            if decision is None:
                continue
            self.runner.event(f"{name}: {decision.describe(app.workers)}")
            if decision.workers == app.workers:
                continue
            self.events[name, "up" if decision.workers > app.workers else "down"] += 1
            desired.adapt(name, decision.workers)
            wanted = desired.app(name)
            assert wanted is not None
            sup.send(Scale(wanted))

    def _sample(self, sup: AppSupervisor, workers: int, now: float) -> Sample:
        app = sup.app
        queue = total_queue(listener.sock for listener in sup.listeners if not listener.suspended)
        lag = busy = in_flight = None
        if app.is_measured:
            stats = self.store.window(app.name, now)
            lag = stats.loop_lag
            if app.worker_class is WorkerClass.GTHREAD:
                in_flight = stats.in_flight
            if stats.requests_per_second is not None and stats.p50 is not None:
                busy = stats.requests_per_second * stats.p50  # Little's law: rate x time
        sample = Sample(
            now,
            workers,
            queue,
            lag,
            cpu_busy=self._cpu_busy,
            busy=busy,
            threads=app.threads,
            in_flight=in_flight,
        )
        if sample.pressure is None:
            # Memory only limits adding workers: not read while nothing waits (it was half
            # the cost of a tick, ten times a second).
            return sample
        snap = sup.snapshot()
        worker_bytes = None
        if snap.memory_bytes is not None and snap.workers_live:
            worker_bytes = snap.memory_bytes // (snap.workers_live + 1)  # the master too
        return replace(
            sample,
            worker_bytes=worker_bytes,
            app_bytes=snap.memory_bytes,
            app_limit=app.memory.total if app.memory is not None else None,
            available_bytes=memory_available(),
        )
