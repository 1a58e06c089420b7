"""One app's life: prestart, start, prove it serves, watch it, restart it, replace it, stop it.

Each AppSupervisor is a single task. Everything else talks to it by putting a
command in its queue; only the task itself changes the app's state, so every
state change goes through `_enter` and the transition table in state.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from gaia_runner.config.model import AppConfig
from gaia_runner.process.child import describe_exit
from gaia_runner.process.generation import Generation
from gaia_runner.process.launch import child_environment
from gaia_runner.process.sockets import Listener
from gaia_runner.process.tree import TreeSample, TreeSampler
from gaia_runner.supervise.monitors import Condemned, watch_crash_loop, watch_generation
from gaia_runner.supervise.prestart import PrestartOutcome, run_prestart
from gaia_runner.supervise.restarts import RestartTracker
from gaia_runner.supervise.scaling import scale_in_place
from gaia_runner.supervise.state import AppState, check_transition
from gaia_runner.supervise.timing import Clock, SystemClock, Timings
from gaia_runner.view.applog import AppLog
from gaia_runner.view.snapshot import AppSnapshot

Notify = Callable[[str], None]
Spawner = Callable[..., Awaitable[Generation]]
T = TypeVar("T")
FULL_MEMORY_EVERY = 5


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Replace:
    """Start a generation from `app` beside the current one, then retire the old one."""

    app: AppConfig
    listeners: tuple[Listener, ...]
    reason: str = "config change"


@dataclass(frozen=True)
class Scale:
    app: AppConfig


@dataclass(frozen=True)
class Restart:
    reason: str = "restart requested"


Command = Stop | Replace | Scale | Restart


class _Interrupted(Exception):
    def __init__(self, command: Command) -> None:
        self.command = command


class AppSupervisor:
    def __init__(
        self,
        app: AppConfig,
        listeners: Sequence[Listener],
        *,
        run_dir: Path,
        log: AppLog,
        base_env: Mapping[str, str],
        stop_timeout: float,
        notify: Notify,
        timings: Timings,
        debug: bool = False,
        clock: Clock | None = None,
        spawn: Spawner | None = None,
    ) -> None:
        self.app = app
        self.listeners = tuple(listeners)
        self.run_dir = run_dir
        self.log = log
        self.base_env = base_env
        self.stop_timeout = stop_timeout
        self.timings = timings
        self.debug = debug
        self._notify = notify
        self.clock = clock or SystemClock()
        self._spawner = spawn or Generation.start
        self.state = AppState.STOPPED
        self.detail = ""
        self.restarts = 0
        self.last_reason: str | None = None
        self.running_since: float | None = None
        self.backoff_until: float | None = None
        self.current: Generation | None = None
        self.sample: TreeSample | None = None
        self.failure_lines: tuple[str, ...] = ()
        self._generation = 0
        self._commands: asyncio.Queue[Command] = asyncio.Queue()
        self._tracker = RestartTracker(app.backoff, app.max_start_failures)
        self._sampler = TreeSampler()
        self._sample_task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._deferred: list[Command] = []

    # -- the outside world's handle -------------------------------------------------

    def send(self, command: Command) -> None:
        self._commands.put_nowait(command)

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
        )

    # -- the task -------------------------------------------------------------------

    async def run(self) -> None:
        """Drive the app until a Stop arrives; never raises for the app's own failures."""
        self._sample_task = asyncio.create_task(self._sample_forever())
        pending: Command | None = None
        try:
            while True:
                try:
                    if pending is not None:
                        command, pending = pending, None
                        if not await self._apply_idle(command):
                            return
                    await self._cycle()
                    # The app is down for good (FAILED/FATAL/never): wait to be told.
                    pending = await self._commands.get()
                except _Interrupted as interrupt:
                    pending = interrupt.command
        finally:
            self._sample_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sample_task
            if self.current is not None:
                await self._retire(self.current)
            if self._retiring:
                await asyncio.gather(*self._retiring, return_exceptions=True)
            if self.state is not AppState.STOPPED:
                self._force_stopped()

    async def _apply_idle(self, command: Command) -> bool:
        """Handle a command that arrived while no tree was serving. False means: finish."""
        if self.current is not None:
            await self._stop_current()
        match command:
            case Stop():
                if self.state is not AppState.STOPPED:
                    self._force_stopped()
                return False
            case Replace(app=app, listeners=listeners):
                self._adopt(app, listeners)
            case Scale(app=app):
                self._adopt(app, self.listeners)
            case Restart():
                pass
        self._tracker.reset()
        if self.state is not AppState.STOPPED:
            self._force_stopped()
        return True

    def _adopt(self, app: AppConfig, listeners: Sequence[Listener]) -> None:
        self.app = app
        self.listeners = tuple(listeners)
        self._tracker = RestartTracker(app.backoff, app.max_start_failures)

    async def _cycle(self) -> None:
        """Start and keep the app up until it ends in a terminal state (or is interrupted)."""
        while True:
            if not await self._prestart(self.app):
                return
            generation = await self._start_generation(self.app)
            if generation is None:
                return
            outcome = await self._until_serving(generation)
            if outcome is None:
                self._enter(AppState.RUNNING)
                self.running_since = self.clock.now()
                self._tracker.mark_running(self.running_since)
                outcome = await self._serve()
                generation = self.current or generation
            if not await self._after_end(generation, outcome):
                return

    # -- phases -----------------------------------------------------------------------

    async def _prestart(self, app: AppConfig) -> bool:
        if not app.prestart:
            return True
        self._enter(AppState.PRESTART)
        outcome = await self._interruptible(self._run_prestart(app))
        if outcome.ok:
            return True
        self.failure_lines = self.log.post_mortem()
        self._enter(AppState.FAILED, outcome.reason)
        return False

    async def _run_prestart(self, app: AppConfig) -> PrestartOutcome:
        return await run_prestart(
            app.prestart,
            env=child_environment(app, self.base_env),
            cwd=app.cwd,
            timeout=app.prestart_timeout,
            sink=self.log.sink("prestart"),
        )

    async def _start_generation(self, app: AppConfig) -> Generation | None:
        self._enter(AppState.STARTING)
        self._generation += 1
        try:
            generation = await self._spawn(app, self.listeners)
        except OSError as exc:
            self._enter(AppState.FAILED, f"could not start: {exc}")
            return None
        self.current = generation
        self._kick_sampler()
        return generation

    async def _until_serving(self, generation: Generation) -> Condemned | int | None:
        """None once serving; else the exit code, or why gaia gave up on the start."""
        serving = asyncio.ensure_future(generation.wait_serving())
        exited = asyncio.ensure_future(generation.first_exit())
        looping = asyncio.ensure_future(watch_crash_loop(self, generation, serving=False))
        waiting = {serving, exited, looping}
        try:
            async with asyncio.timeout(self.app.start_timeout):
                done, _ = await self._interruptible(
                    asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                )
        except TimeoutError:
            return Condemned(f"not serving after {self.app.start_timeout:g}s", "start timeout")
        finally:
            for task in waiting:
                task.cancel()
        if exited in done:
            return exited.result().returncode
        if looping in done:
            return looping.result()
        return None

    async def _serve(self) -> Condemned | int:
        """Watch the current generation until it ends or is condemned. Scale and replace
        commands are absorbed here; after a replace the watch moves to the new generation."""
        while True:
            generation = self.current
            assert generation is not None
            watch = asyncio.ensure_future(watch_generation(self, generation))
            exited = asyncio.ensure_future(generation.first_exit())
            getter = asyncio.ensure_future(self._commands.get())
            try:
                done, _ = await asyncio.wait(
                    {watch, exited, getter}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                watch.cancel()
                exited.cancel()
                if not getter.done():
                    getter.cancel()
            if getter in done:
                command = getter.result()
                if not await self._while_running(command):
                    raise _Interrupted(command)
                continue
            if exited in done:
                code = exited.result().returncode
                return code if code is not None else -1
            return watch.result()

    async def _after_end(self, generation: Generation, outcome: Condemned | int) -> bool:
        """The tree ended (or was condemned). True: go round again after the backoff."""
        if isinstance(outcome, Condemned):
            condemned, code, reason, label = True, None, outcome.reason, outcome.label
        else:
            # Stock servers leave their workers serving when the master dies.
            generation.kill_leftovers()
            condemned, code = False, outcome
            reason = label = describe_exit(outcome)
        self._enter(AppState.STOPPING, reason)
        await self._stop_current()
        was_running = self.running_since is not None
        self.running_since = None
        self.failure_lines = self.log.post_mortem()
        decision = self._tracker.after_exit(
            self.clock.now(), policy=self.app.restart, returncode=code, condemned=condemned
        )
        if decision.fatal:
            self._enter(
                AppState.FATAL,
                f"gave up after {self.app.max_start_failures} failed starts (last: {reason})",
            )
            return False
        if not decision.restart:
            self._enter(AppState.FAILED, f"{reason} (restart = {self.app.restart.value})")
            return False
        self.restarts += 1
        self.last_reason = label
        verb = "exited" if was_running and not condemned else "failed"
        self._enter(AppState.BACKOFF, f"{verb}: {reason}; retry in {decision.delay:.3g}s")
        self.backoff_until = self.clock.now() + decision.delay
        try:
            await self._interruptible(self.clock.sleep(decision.delay))
        finally:
            self.backoff_until = None
        return True

    async def _while_running(self, command: Command) -> bool:
        """Commands that a serving app absorbs without leaving RUNNING. False: not absorbed."""
        match command:
            case Scale(app=app) if self.current is not None:
                await scale_in_place(self.current, app, self._notify)
                self.app = app
                return True
            case Replace(app=app, listeners=listeners, reason=reason):
                await self._replace(app, listeners, reason)
                for deferred in self._deferred:
                    self._commands.put_nowait(deferred)
                self._deferred.clear()
                return True
        return False

    async def _replace(self, app: AppConfig, listeners: Sequence[Listener], reason: str) -> None:
        """Zero downtime: the old generation serves until the new one has answered."""
        old = self.current
        assert old is not None
        self._notify(f"starting generation {self._generation + 1} ({reason})")
        if app.prestart:
            outcome = await self._interruptible(
                self._run_prestart(app), handle=self._defer_unless_stop
            )
            if not outcome.ok:
                self._reject(f"{outcome.reason}; still serving the previous version")
                return
        self._generation += 1
        try:
            new = await self._spawn(app, listeners)
        except OSError as exc:
            self._reject(f"could not start: {exc}; still serving the previous version")
            return
        serving = asyncio.ensure_future(new.wait_serving())
        exited = asyncio.ensure_future(new.first_exit())
        looping = asyncio.ensure_future(watch_crash_loop(self, new, serving=False))
        try:
            done, _ = await self._interruptible(
                asyncio.wait(
                    {serving, exited, looping},
                    timeout=app.start_timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                ),
                handle=self._defer_unless_stop,
            )
        except _Interrupted:
            await new.stop(self.stop_timeout)
            raise
        finally:
            for task in (serving, exited, looping):
                task.cancel()
        if serving not in done:
            if exited in done:
                why = "exited"
            elif looping in done:
                why = looping.result().reason
            else:
                why = f"not serving after {app.start_timeout:g}s"
            await new.stop(self.stop_timeout)
            self._reject(f"new version {why}; still serving the previous version")
            return
        self.current, self.app, self.listeners = new, app, tuple(listeners)
        self._tracker = RestartTracker(app.backoff, app.max_start_failures)
        self._tracker.mark_running(self.clock.now())
        self.running_since = self.clock.now()
        self.restarts += 1
        self.last_reason = reason
        self.detail = ""
        self._kick_sampler()
        self._notify(f"generation {new.number} serving; stopping generation {old.number}")
        # The old tree drains for up to its graceful timeout; meanwhile the new one is
        # watched and commands are served, so the retirement runs on its own.
        task = asyncio.create_task(old.stop(self.stop_timeout))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _defer_unless_stop(self, command: Command) -> bool:
        """While a replacement starts, only Stop cuts in; anything else waits its turn."""
        if isinstance(command, Stop):
            return False
        self._deferred.append(command)
        return True

    async def _spawn(self, app: AppConfig, listeners: Sequence[Listener]) -> Generation:
        generation = await self._spawner(
            self._generation,
            app,
            listeners,
            self.run_dir,
            self.base_env,
            self.log.sink(),
            debug=self.debug,
        )
        generation.command_grace = self.timings.command_grace
        return generation

    def _reject(self, message: str) -> None:
        self.detail = message
        self.failure_lines = self.log.post_mortem()
        self._notify(message)

    # -- helpers ----------------------------------------------------------------------

    async def _interruptible(
        self,
        work: Awaitable[T],
        handle: Callable[[Command], Awaitable[bool]] | None = None,
    ) -> T:
        """Await `work`, but let a queued command cut in.

        `handle` may absorb a command in place (scale, replace); any other command
        cancels `work` and surfaces as _Interrupted for the caller's caller.
        """
        task = asyncio.ensure_future(work)
        try:
            while True:
                getter = asyncio.ensure_future(self._commands.get())
                done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    command = getter.result()
                    if handle is not None and await handle(command):
                        continue
                    raise _Interrupted(command)
                getter.cancel()
                return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _stop_current(self) -> None:
        if self.current is None:
            return
        if self.state not in (AppState.STOPPING, AppState.STOPPED):
            self._enter(AppState.STOPPING)
        generation, self.current = self.current, None
        await generation.stop(self.stop_timeout)
        self.sample = None

    async def _retire(self, generation: Generation) -> None:
        await generation.stop(self.stop_timeout)
        if generation is self.current:
            self.current = None

    def _force_stopped(self) -> None:
        # Only states with a tree (or its prestart) pass through STOPPING.
        if self.state in (AppState.PRESTART, AppState.STARTING, AppState.RUNNING):
            self._enter(AppState.STOPPING)
        if self.state is not AppState.STOPPED:
            self._enter(AppState.STOPPED)
        self.running_since = None

    def _enter(self, state: AppState, detail: str = "") -> None:
        check_transition(self.state, state)
        old, self.state = self.state, state
        self.detail = detail
        suffix = f": {detail}" if detail else ""
        self._notify(f"{old.value} -> {state.value}{suffix}")

    def _kick_sampler(self) -> None:
        self.sample = None

    async def _sample_forever(self) -> None:
        tick = 0
        while True:
            generation = self.current
            # Memory limits need fresh USS every sample; the table can wait a few seconds.
            full = self.app.memory is not None or tick % FULL_MEMORY_EVERY == 0
            tick += 1
            if generation is not None:
                try:
                    self.sample = await asyncio.to_thread(
                        self._sampler.sample, generation.pids, generation.server, full
                    )
                except Exception as exc:  # psutil races with exiting processes
                    self._notify(f"sampling failed: {exc}")
            interval = self.app.memory.interval if self.app.memory else self.timings.sample
            await asyncio.sleep(interval)
