"""What is known about one app: its state and why, restarts, uptime, the serving
generation and its last sample. Every state change goes through `_enter`, checked
against the transition table; the snapshot for the table is read from here."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from gaia_runner.config.model import AppConfig
from gaia_runner.dev.saves import PrestartWindow
from gaia_runner.logs.applog import AppLog
from gaia_runner.metrics.cpu import CpuCounter
from gaia_runner.model.snapshot import AppSnapshot
from gaia_runner.model.state import AppState, check_transition
from gaia_runner.process.generation import Generation
from gaia_runner.process.tree import TreeSample, TreeSampler
from gaia_runner.supervise.timing import Clock, Timings

Notify = Callable[[str], None]
FULL_MEMORY_EVERY = 5
SLOWEST_SAMPLE = 4  # times the sample interval, for a tree that does not change


class AppRecord:
    def __init__(
        self, app: AppConfig, log: AppLog, clock: Clock, notify: Notify, timings: Timings
    ) -> None:
        self.app = app
        # The config this app was last asked to run. A reload plans against it, not
        # against `app`, so a save during a replace does not queue the same replace twice.
        self.intended = app
        self.log = log
        self.clock = clock
        self.timings = timings
        self._notify = notify
        self.prestart_window = PrestartWindow()  # dev mode: what prestart wrote is not a save
        self.state = AppState.STOPPED
        self.detail = ""
        self.restarts = 0
        self.last_reason: str | None = None
        self.running_since: float | None = None
        self.backoff_until: float | None = None
        self.current: Generation | None = None
        self.sample: TreeSample | None = None
        self.failure_lines: tuple[str, ...] = ()
        self.last_exit: int | None = None  # of the last run, once it ended; depends_on reads it
        # Kept after the detail line moves on: `gaia status` shows the last refused replace.
        self.last_rejected: str | None = None
        self._sampler = TreeSampler()
        self._sample_waiters: list[asyncio.Future[TreeSample]] = []
        self.restart_reasons: Counter[str] = Counter()
        self.cpu = CpuCounter()

    def snapshot(self) -> AppSnapshot:
        app, now = self.app, self.clock.now()
        sample = self.sample if self.current is not None else None
        largest = sample.largest_worker if sample else None
        limits = app.memory
        server = "command" if app.command is not None else app.server.value
        return AppSnapshot(
            name=app.name,
            server=server,
            state=self.state,
            pid=self.current.leader.pid if self.current else None,
            workers_live=len(sample.workers) if sample else 0,
            worker_pids=tuple(w.pid for w in sample.workers) if sample else (),
            workers_desired=app.workers,
            urls=tuple(bind.url(app.is_https) for bind in app.bind),
            memory_bytes=sample.total_pss if sample else None,
            memory_limit=limits.total if limits else None,
            largest_worker_bytes=largest.uss if largest else None,
            worker_limit=limits.worker if limits else None,
            cpu_percent=sample.cpu_percent if sample else None,
            restarts=self.restarts,
            last_restart_reason=self.last_reason,
            uptime_seconds=now - self.running_since if self.running_since else None,
            backoff_seconds_left=(
                max(0.0, self.backoff_until - now) if self.backoff_until is not None else None
            ),
            detail=self.detail or None,
            last_lines=self.failure_lines,
            unwritten_lines=self.log.unwritten,
            generation=self.current.number if self.current else None,
            rejected=self.last_rejected,
            cpu_seconds_total=self.cpu.total,
            restart_reasons=tuple(sorted(self.restart_reasons.items())),
            completed=self.completed,
        )

    @property
    def completed(self) -> bool:
        """A one-shot command that exited 0 and is not run again (depends_on's `completed`)."""
        return self.app.is_command and self.state is AppState.STOPPED and self.last_exit == 0

    def count_restart(self, label: str) -> None:
        self.restarts += 1
        self.last_reason = label
        self.restart_reasons[label] += 1

    def _force_stopped(self) -> None:
        # Only states with a tree (or its prestart) pass through STOPPING.
        if self.state in (AppState.PRESTART, AppState.STARTING, AppState.RUNNING):
            self._enter(AppState.STOPPING)
        if self.state is not AppState.STOPPED:
            self._enter(AppState.STOPPED)
        self.running_since = None

    def _enter(self, state: AppState, detail: str = "") -> None:
        check_transition(self.state, state)
        if state in (AppState.PRESTART, AppState.STARTING):
            self.last_exit = None
        old, self.state = self.state, state
        self.detail = detail
        suffix = f": {detail}" if detail else ""
        self._notify(f"{old.value} -> {state.value}{suffix}")

    async def sample_forever(self) -> None:
        tick, steady = 0, 0
        while True:
            generation = self.current
            # Memory limits need fresh USS every sample; the table can wait a few seconds.
            full = self.app.memory is not None or tick % FULL_MEMORY_EVERY == 0
            tick += 1
            if generation is not None:
                before = _pids(self.sample)
                try:
                    sample = await asyncio.to_thread(
                        self._sampler.sample, generation.pids, generation.server, full
                    )
                    self.cpu.observe((p.pid, p.cpu_seconds) for p in sample.processes)
                except Exception as exc:  # psutil races with exiting processes
                    self._notify(f"sampling failed: {exc}")
                else:
                    _remember(generation, sample)
                    if generation is self.current:
                        self._publish(sample)
                steady = steady + 1 if _pids(self.sample) == before else 0
            await asyncio.sleep(self._sample_interval(steady))

    def _publish(self, sample: TreeSample) -> None:
        self.sample = sample
        waiters, self._sample_waiters = self._sample_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(sample)

    async def next_sample(self) -> TreeSample:
        """The next sample of the current generation's tree: the watchers wake with the
        sampler instead of on timers of their own."""
        waiter: asyncio.Future[TreeSample] = asyncio.get_running_loop().create_future()
        self._sample_waiters.append(waiter)
        return await waiter

    def _sample_interval(self, steady: int) -> float:
        """A memory limit sets its own interval. Otherwise a tree whose processes stay
        the same is sampled less and less often (up to SLOWEST_SAMPLE x the interval):
        twenty idle apps must not keep gaia busy. Any new or gone process resets it."""
        if self.app.memory is not None:
            return float(self.app.memory.interval)
        return self.timings.sample * min(1 << max(0, steady - 1), SLOWEST_SAMPLE)

    def log_event(self, message: str) -> None:
        self.log.write("gaia", message)

    def _reject(self, message: str, refused: AppConfig | None = None) -> None:
        if refused is not None and self.intended is refused:
            # A refused version is not the target any more: a later reload may retry it.
            self.intended = self.app
        self.detail = message
        self.last_rejected = message
        self.failure_lines = self.log.post_mortem()
        self._notify(message)

    # -- helpers ----------------------------------------------------------------------


def _remember(generation: Generation, sample: TreeSample) -> None:
    below = dict(sample.lineage)
    for child in generation.children:
        if child.pid in below:
            child.remember(list(below[child.pid]))


def _pids(sample: TreeSample | None) -> set[int]:
    if sample is None:
        return set()
    roots = [sample.root] if sample.root is not None else []
    return {p.pid for p in (*roots, *sample.workers, *sample.others)}
