"""What an operator can ask of a running gaia over its control socket.

Each request first changes (or reads) the desired state, then tells the supervisors:
an app is always told to run what the desired state says, never what its serving
generation happens to run, so a restart or a scale during a config replace can never
roll the edit back. Requests that change which apps run (stop, start, scale, reload)
hold the runner's lock, so two of them never interleave with a reload.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from gaia_runner.answers import (
    Answer,
    ErrorAnswer,
    ReloadAnswer,
    RestartAnswer,
    ScaleAnswer,
    ShutdownAnswer,
    StartAnswer,
    StatusAnswer,
    StopAnswer,
)
from gaia_runner.config.model import AppConfig
from gaia_runner.control import Request, Streamer
from gaia_runner.desired import DesiredState
from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.process.sockets import Listener
from gaia_runner.start_gate import StartGate, config_row
from gaia_runner.subscribers import Subscribers
from gaia_runner.supervise.commands import Replace, Restart, Scale
from gaia_runner.supervise.supervisor import AppSupervisor

MAX_WORKERS = 1024


class OperatedRunner(Protocol):
    """The part of the runner operations act through (it imports this module)."""

    desired: DesiredState
    supervisors: dict[str, AppSupervisor]
    lock: asyncio.Lock
    gate: StartGate

    def listeners_for(self, app: AppConfig) -> tuple[Listener, ...]: ...
    def close_unused_sockets(self) -> None: ...
    async def stop_app(self, name: str) -> None: ...
    def start_apps(self, names: Sequence[str]) -> str | None: ...
    def event(self, message: str) -> None: ...
    def request_stop(self) -> None: ...
    def snapshot(self) -> Snapshot: ...
    async def reload(self) -> ReloadAnswer: ...
    async def read_config_now(self) -> None: ...


def app_snapshot(
    desired: DesiredState,
    sup: AppSupervisor | None,
    name: str,
    scale_events: Mapping[tuple[str, str], int] | None = None,
) -> AppSnapshot:
    """An app's row: a stopped-by-request app has no supervisor, so it is made up from
    the applied config; a scaled one carries the file's worker count beside its own, an
    adaptive one its range and how often adaptive workers changed its count."""
    app = desired.config.apps[name]
    if sup is None:
        return config_row(app, AppState.STOPPED, stopped_by_request=True)
    snap = sup.snapshot()
    in_file = desired.workers_in_file(name)
    events = tuple(sorted((d, n) for (app, d), n in (scale_events or {}).items() if app == name))
    if events:
        snap = dataclasses.replace(snap, scale_events=events)
    if (limits := desired.adapts(name)) is not None:
        snap = dataclasses.replace(snap, workers_range=(limits.min, limits.max))
    return snap if in_file is None else dataclasses.replace(snap, workers_in_file=in_file)


class Operations:
    def __init__(self, runner: OperatedRunner) -> None:
        self.runner = runner
        self.handlers: dict[str, Callable[[Request], Awaitable[Answer]]] = {
            "status": self.status,
            "stop": self.stop,
            "start": self.start,
            "restart": self.restart,
            "scale": self.scale,
            "reload": self.reload,
            "shutdown": self.shutdown,
        }
        # `gaia top`: requests that keep their connection (subscribers.py).
        self.subscribers = Subscribers()
        self.streams: dict[str, Streamer] = {
            "subscribe": lambda request, reader, writer: self.subscribers.serve(
                request, reader, writer, runner.snapshot
            )
        }

    async def handle(self, request: Request) -> Answer:
        handler = self.handlers.get(request.command)
        if handler is None:
            return {"error": f"unknown command {request.command!r}"}
        return await handler(request)

    def _unknown(self, names: Sequence[str]) -> ErrorAnswer | None:
        known = self.runner.desired.known()
        unknown = [n for n in names if n not in known]
        if not unknown:
            return None
        return {"error": f"no app named {', '.join(unknown)} (apps: {', '.join(known) or 'none'})"}

    async def status(self, request: Request) -> StatusAnswer:
        await self.runner.read_config_now()
        return {"snapshot": self.runner.snapshot().to_json()}

    async def stop(self, request: Request) -> StopAnswer | ErrorAnswer:
        runner = self.runner
        names = list(request.apps or runner.desired.known())
        if (error := self._unknown(names)) is not None:
            return error
        async with runner.lock:
            # Dependents before what they depend on, as when gaia stops.
            stopping = [n for group in runner.gate.stop_groups() for n in group if n in names]
            runner.desired.stop(names)
            for name in stopping:
                runner.event(f"stop requested for {name}")
            for name in stopping:
                await runner.stop_app(name)
            runner.close_unused_sockets()
        return {"stopped": names}

    async def start(self, request: Request) -> StartAnswer | ErrorAnswer:
        runner = self.runner
        desired = runner.desired
        names = list(request.apps or [n for n in desired.known() if n in desired.stopped])
        if (error := self._unknown(names)) is not None:
            return error
        async with runner.lock:
            starting = desired.start(names)
            problem = runner.start_apps(starting)
            if problem is not None:
                desired.stop(starting)
                return {"error": problem}
        return {"started": starting, "already_running": [n for n in names if n not in starting]}

    async def restart(self, request: Request) -> RestartAnswer | ErrorAnswer:
        runner = self.runner
        names = list(request.apps or runner.supervisors)
        if (error := self._unknown(names)) is not None:
            return error
        if waiting := {n: runner.gate.waiting[n] for n in names if n in runner.gate.waiting}:
            return {"error": "; ".join(f"{n} is not started yet: {w}" for n, w in waiting.items())}
        # A stop under way (its supervisor not gone yet) counts as stopped already.
        down = [n for n in names if n not in runner.supervisors or runner.desired.app(n) is None]
        if down:
            return {"error": f"stopped by request: {', '.join(down)} (use `gaia start`)"}
        skip = request.skip_prestart
        for name in names:
            sup, app = runner.supervisors[name], runner.desired.app(name)
            assert app is not None  # see `down`
            runner.event(f"restart requested for {name}" + (" (prestart skipped)" if skip else ""))
            if sup.state is AppState.RUNNING:
                listeners = runner.listeners_for(app)
                sup.send(Replace(app, listeners, reason="restart", skip_prestart=skip))
            else:
                sup.send(Restart("restart", skip_prestart=skip))
        return {"restarted": names}

    async def scale(self, request: Request) -> ScaleAnswer | ErrorAnswer:
        runner = self.runner
        names, workers = request.apps, request.workers
        if len(names) != 1 or workers is None:
            return {"error": 'scale needs one app name and a worker count (or "auto")'}
        if workers != "auto" and not 1 <= workers <= MAX_WORKERS:
            return {"error": f"workers must be between 1 and {MAX_WORKERS}"}
        if (error := self._unknown(names)) is not None:
            return error
        name = names[0]
        async with runner.lock:
            sup = runner.supervisors.get(name)
            if sup is None:
                return {"error": f"{name} is stopped by request (use `gaia start`)"}
            change = runner.desired.scale(name, None if workers == "auto" else workers)
            limits = runner.desired.adapts(name)
            adaptive = None if limits is None else f"{limits.min}-{limits.max}"
            if change.workers != change.was or workers == "auto":
                runner.event(
                    f"scale requested for {name}: {change.was} -> {workers} "
                    f"(gaia.toml: {adaptive or change.in_file})"
                )
                app = runner.desired.app(name)
                assert app is not None
                sup.send(Scale(app))
        answer: ScaleAnswer = {
            "app": name,
            "workers": change.workers,
            "was": change.was,
            "in_file": change.in_file,
        }
        if adaptive is not None:
            answer["adaptive"] = adaptive
        return answer

    async def reload(self, request: Request) -> ReloadAnswer:
        return await self.runner.reload()

    async def shutdown(self, request: Request) -> ShutdownAnswer:
        self.runner.request_stop()
        return {"stopping": True}
