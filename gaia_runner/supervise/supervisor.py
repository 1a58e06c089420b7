"""One app's life: prestart, start, prove it serves, watch it, restart it, replace it, stop it.

Each AppSupervisor is a single task. Everything else talks to it by putting a
command in its mailbox; only the task itself changes the app's state, so every
state change goes through `_enter` and the transition table in model/state.py. Any
exception inside the task becomes a restart with reason "internal error": an app
is never left running unsupervised.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from gaia_runner.config.model import AppConfig
from gaia_runner.logs.applog import AppLog
from gaia_runner.model.state import AppState
from gaia_runner.process.child import describe_exit
from gaia_runner.process.generation import Generation
from gaia_runner.process.sockets import BindError, Listener
from gaia_runner.supervise.commands import (
    Accept,
    Command,
    Interrupted,
    Mailbox,
    Replace,
    Restart,
    Roll,
    Scale,
    Stop,
    any_command,
    only_stop,
)
from gaia_runner.supervise.monitors import Condemned, watch_generation
from gaia_runner.supervise.prestart import PrestartOutcome, run_app_prestart
from gaia_runner.supervise.record import AppRecord, Notify
from gaia_runner.supervise.restarts import RestartTracker
from gaia_runner.supervise.scaling import in_place
from gaia_runner.supervise.starting import GenerationStarter, Spawner, until_serving
from gaia_runner.supervise.timing import Clock, SystemClock, Timings

T = TypeVar("T")
# How long a tree that never served gets to exit after SIGTERM before SIGKILL.
FAILED_START_GRACE = 3.0


class AppSupervisor(AppRecord):
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
        super().__init__(app, log, clock or SystemClock(), notify, timings)
        self.listeners = tuple(listeners)
        self.base_env = base_env
        self.stop_timeout = stop_timeout
        self._starter = GenerationStarter(
            spawn or Generation.start,
            run_dir=run_dir,
            base_env=base_env,
            sink=log.sink,
            command_grace=timings.command_grace,
            debug=debug,
        )
        self._mailbox: Mailbox[Command] = Mailbox()
        self._tracker = RestartTracker(app.backoff, app.max_start_failures)
        self._sample_task: asyncio.Task[None] | None = None
        self._retiring: dict[asyncio.Task[None], Generation] = {}
        self._stopping: list[Generation] = []
        # `gaia restart --skip-prestart` of a down app: only the next start skips it.
        self._skip_prestart_once = False

    # -- the outside world's handle -------------------------------------------------

    def send(self, command: Command) -> None:
        if isinstance(command, Replace | Scale):
            self.intended = command.app
        self._mailbox.put(command)

    def kill_everything(self) -> None:
        """Last resort when a graceful stop overran its budget: SIGKILL every tree."""
        for generation in (self.current, *self._retiring.values(), *self._stopping):
            if generation is not None:
                generation.kill_leftovers()

    # -- the task -------------------------------------------------------------------

    async def run(self) -> None:
        """Drive the app until a Stop arrives. Never raises: the app's failures and
        gaia's own are both turned into states."""
        self._sample_task = asyncio.create_task(self.sample_forever())
        pending: Command | None = None
        start = True
        try:
            while True:
                try:
                    if pending is not None:
                        command, pending = pending, None
                        if not await self._apply_idle(command):
                            return
                        start = True
                    if start:
                        await self._cycle()
                    start = False
                    await self._rest()
                    pending = self._mailbox.take(any_command)
                except Interrupted as interrupt:
                    pending = interrupt.command
                except Exception as exc:
                    pending, start = await self._recover(exc)
        finally:
            await self._shut_down()

    async def _shut_down(self) -> None:
        if self._sample_task is not None:
            self._sample_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sample_task
        if self.current is not None:
            generation, self.current = self.current, None
            await self._stop_generation(generation)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        await self._starter.close()  # dev mode's standby goes with the app
        if self.state is not AppState.STOPPED:
            self._force_stopped()

    async def _rest(self) -> None:
        """The app is down for good (FAILED/FATAL): wait to be told what to do. Its
        sockets refuse connections meanwhile, so a load balancer's TCP check fails
        at once instead of connections hanging in a backlog nobody accepts from."""
        if self.state in (AppState.FAILED, AppState.FATAL):
            for listener in self.listeners:
                listener.suspend()
        await self._mailbox.wait(any_command)

    async def _apply_idle(self, command: Command) -> bool:
        """Handle a command that arrived while no tree was serving. False means: finish."""
        if self.current is not None:
            await self._stop_current()
        match command:
            case Stop():
                self._force_stopped()
                return False
            case Replace(app=app, listeners=listeners):
                self._adopt(app, listeners)
            case Scale(app=app):
                self._adopt(app, self.listeners)
            case Restart(skip_prestart=skip) | Roll(skip_prestart=skip):
                self._skip_prestart_once = skip
        self._tracker.reset()
        self._force_stopped()
        return True

    def _adopt(self, app: AppConfig, listeners: Sequence[Listener]) -> None:
        self.app = app
        self.listeners = tuple(listeners)
        self._tracker = RestartTracker(app.backoff, app.max_start_failures)

    async def _recover(self, exc: Exception) -> tuple[Command | None, bool]:
        """Supervising failed: a bug in gaia or a surprise from the OS. The tree is
        restarted like a crashed one, so the app is never left unwatched. Returns a
        command that cut in, and whether to start again."""
        self._notify(f"internal error: {exc!r}; restarting (traceback in the app's log)")
        for line in "".join(traceback.format_exception(exc)).splitlines():
            self.log.write("gaia", line)
        if self.current is not None:
            generation, self.current = self.current, None
            try:
                await self._stop_generation(generation)
            except Exception:
                generation.kill_leftovers()
        self.sample = None
        self.running_since = None
        self.count_restart("internal error")
        decision = self._tracker.after_exit(
            self.clock.now(), policy=self.app.restart, returncode=None, condemned=True
        )
        if self.state in (AppState.PRESTART, AppState.STARTING, AppState.RUNNING):
            self._enter(AppState.STOPPING)
        elif self.state in (AppState.BACKOFF, AppState.FAILED, AppState.FATAL):
            self._enter(AppState.STOPPED)
        if decision.fatal or not decision.restart:
            self._enter(AppState.FATAL, f"internal error: {exc!r}")
            return None, False
        self._enter(AppState.BACKOFF, f"internal error; retry in {decision.delay:.3g}s")
        try:
            await self._backoff(decision.delay)
        except Interrupted as interrupt:
            return interrupt.command, True
        return None, True

    async def _cycle(self) -> None:
        """Start and keep the app up until it ends in a terminal state (or is interrupted)."""
        while True:
            ready = await self._prestart(self.app)
            if ready is False:
                return
            generation = ready if isinstance(ready, str) else await self._start_generation(self.app)
            if isinstance(generation, str):  # not even spawned: a failed start all the same
                if await self._retry_or_rest(generation, "could not start", None, True):
                    continue
                return
            outcome = await self._await_start(generation, self.app.start_timeout, any_command)
            if outcome is None:
                self._enter(AppState.RUNNING)
                self.running_since = self.clock.now()
                self._tracker.mark_running(self.running_since)
                outcome = await self._serve()
                generation = self.current or generation
            if not await self._after_end(generation, outcome):
                return

    # -- phases -----------------------------------------------------------------------

    async def _prestart(self, app: AppConfig) -> bool | str:
        """True: start. False: a step failed (FAILED). A string: a failed start to retry."""
        skip, self._skip_prestart_once = self._skip_prestart_once, False
        if not app.prestart or skip:
            return True
        self._enter(AppState.PRESTART)
        outcome = await self._run_prestart(app, any_command)
        if not outcome.ok:
            self.failure_lines = self.log.post_mortem()
            if not outcome.spawned or app.retry_prestart:
                return outcome.reason
            self._enter(AppState.FAILED, outcome.reason)
        return outcome.ok

    async def _run_prestart(self, app: AppConfig, accept: Accept) -> PrestartOutcome:
        steps = run_app_prestart(app, self.base_env, self.stop_timeout, self.log.sink("prestart"))
        return await self._interruptible(self.prestart_window.around(steps), accept)

    async def _start_generation(self, app: AppConfig) -> Generation | str:
        """The new generation, or why it could not be spawned (cwd swapped away, EMFILE)."""
        self._enter(AppState.STARTING)
        try:
            for listener in self.listeners:
                listener.resume()
            generation = await self._starter.spawn(app, self.listeners)
        except (OSError, BindError) as exc:
            return f"could not start: {exc}"
        self.current = generation
        self.sample = None
        return generation

    async def _await_start(
        self, generation: Generation, timeout: float, accept: Accept
    ) -> Condemned | int | None:
        return await self._interruptible(until_serving(self, generation, timeout), accept)

    async def _serve(self) -> Condemned | int:
        """Watch the current generation until it ends or is condemned. Scale and replace
        commands are absorbed here; after a replace the watch moves to the new generation."""
        while True:
            generation = self.current
            assert generation is not None
            watch = asyncio.ensure_future(watch_generation(self, generation))
            exited = asyncio.ensure_future(generation.first_exit())
            mail = asyncio.ensure_future(self._mailbox.wait(any_command))
            try:
                done, _ = await asyncio.wait(
                    {watch, exited, mail}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in (watch, exited, mail):
                    task.cancel()
            if exited in done:
                code = exited.result().returncode
                return code if code is not None else -1
            if watch in done:
                return watch.result()
            command = self._mailbox.take(any_command)
            if command is not None and not await self._while_running(command):
                raise Interrupted(command)

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
        was_running = self.running_since is not None
        # A tree that never served has no requests to drain; uvicorn's parent, busy
        # respawning workers that die at import, would otherwise use all of stop_timeout.
        await self._stop_current(None if was_running else FAILED_START_GRACE)
        self.running_since = None
        verb = "exited" if was_running and not condemned else "failed"
        return await self._retry_or_rest(reason, label, code, condemned, verb)

    async def _retry_or_rest(
        self, reason: str, label: str, code: int | None, condemned: bool, verb: str = "failed"
    ) -> bool:
        """Back off and go round again (True), or rest in FAILED/FATAL."""
        self.failure_lines, self.last_exit = self.log.post_mortem(), code
        decision = self._tracker.after_exit(
            self.clock.now(), policy=self.app.restart, returncode=code, condemned=condemned
        )
        if decision.fatal:
            self._enter(
                AppState.FATAL,
                f"gave up after {self.app.max_start_failures} failed starts (last: {reason})",
            )
            return False
        if not decision.restart:  # a one-shot command that exited 0 completed: no failure
            done = AppState.STOPPED if code == 0 and self.app.is_command else AppState.FAILED
            self._enter(done, f"{reason} (restart = {self.app.restart.value})")
            return False
        self.count_restart(label)
        self._enter(AppState.BACKOFF, f"{verb}: {reason}; retry in {decision.delay:.3g}s")
        await self._backoff(decision.delay)
        return True

    async def _backoff(self, delay: float) -> None:
        self.backoff_until = self.clock.now() + delay
        try:
            await self._interruptible(self.clock.sleep(delay), any_command)
        finally:
            self.backoff_until = None

    async def _while_running(self, command: Command) -> bool:
        """Commands that a serving app absorbs without leaving RUNNING. False: not absorbed.
        While one is applied only Stop cuts in; anything else waits in the mailbox."""
        match command:
            case Scale(app=app) | Roll(app=app) if self.current is not None:
                work = in_place(self.current, command, self._tracker, self._notify)
                await self._interruptible(work, only_stop)
                self.app = app
                return True
            case Replace(app=app, listeners=listeners, reason=reason, skip_prestart=skip):
                await self._replace(app, listeners, reason, skip_prestart=skip)
                return True
        return False

    async def _replace(
        self,
        app: AppConfig,
        listeners: Sequence[Listener],
        reason: str,
        *,
        skip_prestart: bool = False,
    ) -> None:
        """Zero downtime: the old generation serves until the new one has answered."""
        old = self.current
        assert old is not None
        kept = f"still serving the previous version (generation {old.number})"
        self._notify(f"starting generation {self._starter.next_number} ({reason})")
        if not skip_prestart:
            prestart = await self._run_prestart(app, only_stop)
            if not prestart.ok:
                self._reject(f"{prestart.reason}; {kept}", app)
                return
        try:
            new = await self._starter.spawn(app, listeners)
        except (OSError, BindError) as exc:
            self._reject(f"could not start: {exc}; {kept}", app)
            return
        try:
            outcome = await self._await_start(new, app.start_timeout, only_stop)
        except BaseException:
            await self._stop_generation(new)
            raise
        if outcome is not None:
            await self._stop_generation(new)
            why = "exited" if isinstance(outcome, int) else outcome.reason
            self._reject(f"new version {why}; {kept}", app)
            return
        self.current, self.app, self.listeners = new, app, tuple(listeners)
        self._tracker = RestartTracker(app.backoff, app.max_start_failures)
        self._tracker.mark_running(self.clock.now())
        self.running_since = self.clock.now()
        self.count_restart(reason)
        self.detail, self.last_rejected, self.sample = "", None, None
        self._notify(f"generation {new.number} serving; stopping generation {old.number}")
        # The old tree drains for up to its graceful timeout; meanwhile the new one is
        # watched and commands are served, so the retirement runs on its own.
        task = asyncio.create_task(old.stop(self.stop_timeout))
        self._retiring[task] = old
        task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def _interruptible(self, work: Awaitable[T], accept: Accept) -> T:
        return await self._mailbox.unless(work, accept)

    async def _stop_current(self, grace: float | None = None) -> None:
        if self.current is None:
            return
        if self.state in (AppState.PRESTART, AppState.STARTING, AppState.RUNNING):
            self._enter(AppState.STOPPING)
        generation, self.current = self.current, None
        await self._stop_generation(generation, grace)
        self.sample = None

    async def _stop_generation(self, generation: Generation, grace: float | None = None) -> None:
        """Graceful stop (within stop_timeout, or a shorter `grace`), while kill_everything
        can still find the tree."""
        self._stopping.append(generation)
        try:
            timeout = self.stop_timeout if grace is None else min(grace, self.stop_timeout)
            await generation.stop(timeout)
        finally:
            self._stopping.remove(generation)
