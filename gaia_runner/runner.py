"""The runner: one asyncio process that owns the sockets and one supervisor per app.

Signal handlers only put a word in a queue; `run()` is the one loop that decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import psutil

from gaia_runner.adaptive_workers import AdaptiveWorkers
from gaia_runner.answers import Answer, ReloadAnswer, ReloadRejected
from gaia_runner.config import ConfigError, GaiaConfig, LoadedConfig, derive, load_config
from gaia_runner.config.load import source_digest
from gaia_runner.config.model import AppConfig, Bind
from gaia_runner.config.restart_only import check_live_edit
from gaia_runner.config_on_disk import ConfigOnDisk
from gaia_runner.control import Request, control_path, serve
from gaia_runner.desired import DesiredState, StartupError
from gaia_runner.dev.saves import CodeSaves
from gaia_runner.logs.applog import AppLog
from gaia_runner.loop_events import CodeChanged, LoopEvent, ReloadConfig, StopGaia
from gaia_runner.metrics.service import MetricsError, MetricsService
from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.operations import Operations, app_snapshot
from gaia_runner.plan import TLS_FILES, Action, AppPlan, plan_reload
from gaia_runner.process.accept_queue import total_queue
from gaia_runner.process.bind_apps import BindErrors, bind_apps
from gaia_runner.process.child import signal_group
from gaia_runner.process.orphans import adopt_orphans
from gaia_runner.process.sockets import Listener, SocketAccess, apply_access
from gaia_runner.service.readiness import service_report
from gaia_runner.start_gate import StartGate
from gaia_runner.supervise.commands import Command, Replace, Roll, Scale, Stop
from gaia_runner.supervise.supervisor import AppSupervisor
from gaia_runner.supervise.timing import Timings
from gaia_runner.view.display import Display
from gaia_runner.view.events import EVENT_LOG, EventLog, no_forward
from gaia_runner.watch import follow_app_sources, tls_digests

GAIA = "gaia"
SIGNAL_EVENTS = (
    (signal.SIGINT, StopGaia()),
    (signal.SIGTERM, StopGaia()),
    (signal.SIGHUP, ReloadConfig()),
)
SNAPSHOT_INTERVAL = 0.5  # the live table redraws once a second

# Extra time a supervisor gets beyond stop_timeout before gaia kills its trees.
STOP_SLACK = 1.0


class Runner:
    def __init__(
        self,
        config: GaiaConfig,
        display: Display,
        *,
        only: Sequence[str] = (),
        dev: bool = False,
        watch_config: bool = True,
        timings: Timings | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.desired = DesiredState(config, tuple(only), dev)
        rotation = config.gaia.logs
        events = AppLog(
            EVENT_LOG,
            config.gaia.state_dir / "logs",
            no_forward,
            max_bytes=rotation.max_size,
            keep=rotation.keep,
        )
        self.display: Display = EventLog(display, events)
        self.dev = dev
        self.watch_config = watch_config
        self.timings = timings or Timings.from_env()
        self.base_env = dict(os.environ if environ is None else environ)
        self.sockets: dict[Bind, Listener] = {}
        self.supervisors: dict[str, AppSupervisor] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.config_error: str | None = None
        self.forced = False  # a second Ctrl-C killed the apps instead of waiting
        self.notices: list[str] = []
        self._events: asyncio.Queue[LoopEvent] = asyncio.Queue()
        self._stop_watching = asyncio.Event()
        self._code_dirs_moved = asyncio.Event()  # a reload applied: dev mode's watch checks
        self.lock = asyncio.Lock()
        self._tls_digests = tls_digests(config.apps)
        self.on_disk = ConfigOnDisk(config)
        self.metrics = MetricsService(
            config.gaia.metrics,
            self.snapshot,
            running=self.supervisors,
            lag_window=self.timings.lag_window,
        )
        self.operations = Operations(self)
        self.service = service_report(self.base_env, self.snapshot)
        self.adaptive = AdaptiveWorkers(self, self.metrics, self.timings.cpu_saturated)
        self.gate = StartGate(self._launch, self.desired, self.supervisors, self.display.event)

    @property
    def config(self) -> GaiaConfig:
        """The applied file (the desired state's; operator overrides are beside it)."""
        return self.desired.config

    # -- selection and sockets -----------------------------------------------------------

    def _bind_all(self, apps: Iterable[AppConfig]) -> dict[Bind, Listener]:
        """Bind every address not held yet; all or nothing, every failure reported."""
        try:
            return bind_apps(apps, held=self.sockets)
        except BindErrors as exc:
            raise StartupError(str(exc)) from None

    def listeners_for(self, app: AppConfig) -> tuple[Listener, ...]:
        listeners = tuple(self.sockets[bind] for bind in app.bind)
        # Every generation (re)applies the app's socket_* keys: a reload may change them.
        access = SocketAccess(app.socket_mode, app.socket_user, app.socket_group)
        for problem in apply_access(listeners, access):
            self.display.event(f"{GAIA}: {app.name}: {problem}")
        return listeners

    def close_unused_sockets(self) -> None:
        """A socket stays open while a running generation or the wanted config uses it."""
        in_use = {listener.bind for sup in self.supervisors.values() for listener in sup.listeners}
        with contextlib.suppress(StartupError):
            in_use |= {b for app in self.desired.apps().values() for b in app.bind}
        for bind in [b for b in self.sockets if b not in in_use]:
            self.sockets.pop(bind).close()

    # -- apps ----------------------------------------------------------------------------

    def _start_app(self, app: AppConfig) -> None:
        self.gate.offer(app)  # at once, or once its depends_on are there

    def _launch(self, app: AppConfig) -> None:
        state_dir = self.config.gaia.state_dir
        rotation = self.config.gaia.logs
        log = AppLog(
            app.name,
            state_dir / "logs",
            self.display.log_lines,
            max_bytes=rotation.max_size,
            keep=rotation.keep,
        )
        sup = AppSupervisor(
            app,
            self.listeners_for(app),
            run_dir=state_dir / "run",
            log=log,
            base_env={**self.base_env, **self.metrics.child_env(app.name)},
            stop_timeout=self.config.gaia.stop_timeout,
            notify=functools.partial(self._app_event, app.name),
            timings=self.timings,
            debug=self.dev,
        )
        self.supervisors[app.name] = sup
        task = asyncio.create_task(sup.run(), name=f"app-{app.name}")
        task.add_done_callback(self._report_crash)
        self.tasks[app.name] = task

    def _force_stop(self) -> None:
        if self.forced:
            return
        self.forced = True
        self.display.event(f"{GAIA}: forced stop: SIGKILL to every app")
        for sup in self.supervisors.values():
            sup.kill_everything()
        # Each child of gaia leads a session: this also reaches a TERM-deaf prestart step.
        for child in psutil.Process().children():
            signal_group(child.pid, signal.SIGKILL)

    def _report_crash(self, task: asyncio.Task[None]) -> None:
        """A supervisor must never die silently: its app would be left unwatched."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        lines = traceback.format_exception(exc)
        self.display.event(f"{GAIA}: internal error supervising {task.get_name()}: {exc!r}")
        for line in "".join(lines).splitlines():
            self.display.event(f"{GAIA}:   {line}")

    async def stop_app(self, name: str) -> None:
        sup, task = self.supervisors[name], self.tasks[name]
        sup.send(Stop())
        # The supervisor stops gracefully within stop_timeout; this bound holds even if
        # a stop path is slower than planned (a replace and its old tree, say).
        budget = self.config.gaia.stop_timeout + STOP_SLACK
        done, _ = await asyncio.wait({task}, timeout=budget)
        if not done:
            self.display.event(f"{GAIA}: {name} did not stop within {budget:g}s; killing it")
            sup.kill_everything()
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_SLACK)
        sup.log.close()
        del self.supervisors[name], self.tasks[name]

    def start_apps(self, names: Sequence[str]) -> str | None:
        """Start apps by name from the applied config; the reason if their binds fail."""
        wanted = self.desired.apps()
        apps = [wanted[n] for n in names if n in wanted and n not in self.supervisors]
        try:
            self.sockets.update(self._bind_all(apps))
        except StartupError as exc:
            return str(exc)
        for app in apps:
            self.event(f"start requested for {app.name}")
            self._start_app(app)
        return None

    def _app_event(self, name: str, message: str) -> None:
        self.display.event(f"{name}: {message}")
        self.gate.check()  # a dependency's new state may let a waiting app start

    def event(self, message: str) -> None:
        self.display.event(f"{GAIA}: {message}")

    def request_stop(self) -> None:
        self._events.put_nowait(StopGaia())

    def _measured(self, name: str) -> AppSnapshot:
        sup, waiting = self.supervisors.get(name), self.gate.row(name)
        if waiting is not None:
            return waiting
        snap = app_snapshot(self.desired, sup, name, self.adaptive.events)
        if sup is None:
            return snap
        queued = total_queue(listener.sock for listener in sup.listeners if not listener.suspended)
        return self.metrics.annotate(replace(snap, accept_queue=queued), sup.app)

    def snapshot(self) -> Snapshot:
        stopped = self.desired.stopped
        # Config order: a stopped and started app must not move to the end.
        shown = {*self.supervisors, *stopped, *self.gate.waiting}
        names = [n for n in self.config.apps if n in shown]
        return Snapshot(
            apps=tuple(self._measured(n) for n in names),
            config_path=str(self.config.source),
            config_error=self.config_error,
            config_pending=self.on_disk.pending,
            notices=tuple(self.notices[-3:]),
        )

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Start everything, then serve until SIGINT/SIGTERM. Raises StartupError if
        nothing could be started (a bind is taken)."""
        # Before the first await, so no signal reaches asyncio's own SIGINT handling: from
        # here on it is a word in the queue, handled once everything started.
        loop = asyncio.get_running_loop()
        for sig, event in SIGNAL_EVENTS:
            loop.add_signal_handler(sig, self._events.put_nowait, event)
        wanted = self.desired.apps()
        try:
            await self.metrics.start()
        except MetricsError as exc:
            raise StartupError(str(exc)) from None
        self.sockets.update(self._bind_all(wanted.values()))
        self.display.start()
        background = adopt_orphans(self.timings.sample)  # before the first app starts
        control = await serve(
            control_path(self.config.gaia.state_dir),
            self._control,
            self._log_control,
            self.operations.streams,
        )
        try:
            for app in wanted.values():
                self._start_app(app)
            background.append(asyncio.create_task(self._refresh_display()))
            background.append(asyncio.create_task(self._watch_config()))
            background.append(asyncio.create_task(self.service.run()))
            background.append(asyncio.create_task(self.adaptive.run()))
            if self.dev:
                background.append(asyncio.create_task(self._watch_code()))
            self.display.event(f"{GAIA}: started {len(wanted)} app(s) from {self.config.source}")
            while True:
                match await self._events.get():
                    case StopGaia():
                        break
                    case ReloadConfig():
                        await self.reload()
                    case CodeChanged(app=name):
                        await self._replace_for_code(name)
        finally:
            self.service.stopping()
            self.display.event(f"{GAIA}: stopping gracefully (Ctrl-C again to force)")
            control.close()
            control_path(self.config.gaia.state_dir).unlink(missing_ok=True)
            self._stop_watching.set()
            self.gate.close()
            # A second Ctrl-C (or SIGTERM) while stopping means: do not wait any longer.
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._force_stop)
            loop.remove_signal_handler(signal.SIGHUP)
            try:
                for group in self.gate.stop_groups():  # dependents first
                    await asyncio.gather(*(self.stop_app(n) for n in group))
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            for listener in self.sockets.values():
                listener.close()
            self.sockets.clear()
            self.metrics.close()
            self.display.update(self.snapshot())
            self.display.event(f"{GAIA}: stopped")
            self.display.stop()

    async def _control(self, request: Request) -> Answer:
        return await self.operations.handle(request)

    def _log_control(self, line: str) -> None:
        self.display.event(f"{GAIA}: {line}")

    async def _refresh_display(self) -> None:
        while True:
            if self.display.shows_status:
                self.display.update(self.snapshot())
            self.operations.subscribers.publish(self.snapshot)
            self.close_unused_sockets()
            self.gate.check()  # a `gaia stop` or an edit may have ended a wait
            await asyncio.sleep(SNAPSHOT_INTERVAL)

    # -- reload --------------------------------------------------------------------------

    def _reject(self, message: str) -> ReloadRejected:
        # The same refusal again (the watch re-reads a refused file: see refused()) has
        # nothing new to say.
        if message != self.config_error:
            self.display.event(f"{GAIA}: {self.config.source.name} not applied, apps unchanged:")
            for line in message.splitlines():
                self.display.event(f"{GAIA}:   {line}")
        self.config_error = message
        self.on_disk.refused()
        return {"applied": False, "errors": message}

    async def reload(self) -> ReloadAnswer:
        """parse -> validate -> diff -> apply the smallest change; invalid input changes
        nothing. Answers with the plan, or with why the file was not applied."""
        async with self.lock, self.service.reloading():
            return await self._reload()

    async def _reload(self) -> ReloadAnswer:
        loaded: LoadedConfig | None = None
        try:
            loaded = await asyncio.to_thread(load_config, self.config.source)
            check_live_edit(self.config, loaded)
            wanted = self.desired.apps(loaded.config)
            digests = await asyncio.to_thread(tls_digests, wanted)  # reads: off the loop
            plans = self._plan(wanted, digests)
        except (ConfigError, StartupError) as exc:
            answer = self._reject(str(exc))
            read = exc.read_digest if isinstance(exc, ConfigError) else None
            await self._read_again_if_moved(read or (loaded.read_digest if loaded else None))
            return answer
        except Exception as exc:
            # An edit gaia cannot make sense of must never take the running apps down.
            # The exception's text is left out: it may quote an env value.
            return self._reject(
                f"{self.config.source}: cannot apply this edit ({type(exc).__name__}); "
                "please report this as a gaia bug"
            )
        changes = [p for p in plans if p.action is not Action.UNCHANGED]
        try:
            fresh = self._bind_all(wanted[p.name] for p in changes if p.name in wanted)
        except StartupError as exc:
            return self._reject(str(exc))
        self.sockets.update(fresh)
        self._tls_digests = digests
        if self.config_error is not None:
            self.display.event(f"{GAIA}: {self.config.source.name} is valid again")
        self.config_error = None
        self.desired.adopt(self.on_disk.now_running(loaded.config, loaded.read_digest))
        self._code_dirs_moved.set()
        await self._read_again_if_moved(loaded.read_digest)
        for warning in loaded.warnings:
            self.display.event(f"{GAIA}: warning: {warning}")
        described = [p.describe() for p in plans]
        self.display.event(f"{GAIA}: reload plan: " + "; ".join(described))
        await asyncio.gather(*(self._apply(plan, wanted) for plan in changes))
        self.close_unused_sockets()
        return {"applied": True, "plan": described}

    async def read_config_now(self) -> None:
        await self.on_disk.read_now(self.config)

    async def _read_again_if_moved(self, read: str | None) -> None:
        """A reload may have read a save half-done (a truncate, then a write) and refused
        it, or read the file just before a save. When gaia.toml reads otherwise now, read it
        again: the finished content may be what the watch already saw and will not report
        twice (the save came within its quiet time, or raced a SIGHUP)."""
        if read is None or not self.watch_config:
            return
        if await asyncio.to_thread(source_digest, self.config.source) != read:
            self._events.put_nowait(ReloadConfig())

    def _plan(
        self, wanted: Mapping[str, AppConfig], digests: Mapping[str, str]
    ) -> tuple[AppPlan, ...]:
        running = {name: sup.intended for name, sup in self.supervisors.items()}
        touched = {
            n: (TLS_FILES,)
            for n, d in digests.items()
            if n in running and derive.tls_files(wanted[n]) and self._tls_digests.get(n) != d
        }
        return plan_reload(running, wanted, touched)

    async def _apply(self, plan: AppPlan, wanted: Mapping[str, AppConfig]) -> None:
        if plan.action is Action.STOP:
            return await self.stop_app(plan.name)
        app = wanted[plan.name]
        if plan.action is Action.START:
            return self._start_app(app)
        listeners = self.listeners_for(app)  # socket_* keys apply to the sockets gaia holds
        command: Command = Replace(app, listeners, skip_prestart=not plan.reruns_prestart)
        if plan.action in (Action.SCALE, Action.ADJUST):
            command = Scale(app)
        elif plan.rolls_by_signal(app, self.dev):
            command = Roll(app, ", ".join(plan.changed))
        self.supervisors[plan.name].send(command)

    async def _watch_config(self) -> None:
        reload = functools.partial(self._events.put_nowait, ReloadConfig())
        changed = reload if self.watch_config else None  # still, `applied` follows the files
        await self.on_disk.watch(lambda: self.config, self.timings, self._stop_watching, changed)

    # -- dev mode ------------------------------------------------------------------------

    async def _watch_code(self) -> None:
        changed = CodeSaves(
            self.display.event,
            lambda n: self._events.put_nowait(CodeChanged(n)),
            self.supervisors.get,
        )
        ignored = [self.config.gaia.state_dir]
        await follow_app_sources(
            self._code_dirs, self._code_dirs_moved, ignored, self._stop_watching, changed
        )

    def _code_dirs(self) -> dict[str, Path]:
        """Every app's directory, stopped and waiting ones too: a save there is served as
        soon as the app runs again."""
        config = self.desired.config
        return {name: config.apps[name].cwd for name in self.desired.known()}

    async def _replace_for_code(self, name: str) -> None:
        # The config the app was last asked to run: a save during a config replace must
        # not bring back the version that replace is retiring.
        sup, app = self.supervisors.get(name), self.desired.app(name)
        if sup is None or app is None:
            return
        with contextlib.suppress(KeyError):  # skip_prestart: see dev/saves.py
            sup.send(Replace(app, self.listeners_for(app), "code change", skip_prestart=True))
