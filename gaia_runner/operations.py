"""What an operator can ask of a running gaia over its control socket.

Each handler gets the runner and the request, and answers with a dict: either the
result or {"error": ...}. Handlers that change which apps run (stop, start, scale,
reload) hold the runner's lock, so two of them never interleave with a reload.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from gaia_runner.config.model import AppConfig, GaiaConfig
from gaia_runner.control import snapshot_to_dict
from gaia_runner.process.sockets import Listener
from gaia_runner.supervise.commands import Replace, Restart, Scale
from gaia_runner.supervise.state import AppState
from gaia_runner.supervise.supervisor import AppSupervisor
from gaia_runner.view.snapshot import AppSnapshot, Snapshot


class Host(Protocol):
    """What the operations need from the runner (the runner imports this module, so it
    is described here rather than imported)."""

    config: GaiaConfig
    supervisors: dict[str, AppSupervisor]
    stopped: set[str]
    scaled: dict[str, tuple[int, int]]
    lock: asyncio.Lock

    def known_apps(self) -> list[str]: ...
    def listeners_for(self, app: AppConfig) -> tuple[Listener, ...]: ...
    def close_unused_sockets(self) -> None: ...
    async def stop_app(self, name: str) -> None: ...
    def start_apps(self, names: Sequence[str]) -> str | None: ...
    def event(self, message: str) -> None: ...
    def request_stop(self) -> None: ...
    def snapshot(self) -> Snapshot: ...
    async def reload(self) -> dict[str, Any]: ...


Answer = dict[str, Any]
MAX_WORKERS = 1024


def app_snapshot(runner: Host, name: str) -> AppSnapshot:
    """An app's row: a stopped-by-request app has no supervisor, so it is made up from
    the applied config; a scaled one carries the file's worker count beside its own."""
    app = runner.config.apps[name]
    sup = runner.supervisors.get(name)
    if sup is None:
        return AppSnapshot(
            name=name,
            server="command" if app.command is not None else app.server.value,
            state=AppState.STOPPED,
            workers_desired=app.workers,
            urls=tuple(bind.url(app.is_https) for bind in app.bind),
            stopped_by_request=True,
        )
    snap = sup.snapshot()
    if name in runner.scaled:
        snap = dataclasses.replace(snap, workers_in_file=app.workers)
    return snap


def _names(message: Answer, default: Sequence[str]) -> list[str]:
    """The apps a request names, each once, in order: `gaia start web web` must not start
    a second, unsupervised tree (the client is not trusted to have deduplicated)."""
    return list(dict.fromkeys(message.get("apps") or default))


def _unknown(runner: Host, names: list[str]) -> Answer | None:
    known = runner.known_apps()
    unknown = [n for n in names if n not in known]
    if not unknown:
        return None
    return {"error": f"no app named {', '.join(unknown)} (apps: {', '.join(known) or 'none'})"}


async def status(runner: Host, message: Answer) -> Answer:
    return {"snapshot": snapshot_to_dict(runner.snapshot())}


async def stop(runner: Host, message: Answer) -> Answer:
    names = _names(message, runner.known_apps())
    if (error := _unknown(runner, names)) is not None:
        return error
    async with runner.lock:
        stopping = [n for n in names if n in runner.supervisors]
        runner.stopped.update(names)
        for name in stopping:
            runner.event(f"stop requested for {name}")
        for name in stopping:
            await runner.stop_app(name)
        runner.close_unused_sockets()
    return {"stopped": names}


async def start(runner: Host, message: Answer) -> Answer:
    names = _names(message, [n for n in runner.known_apps() if n in runner.stopped])
    if (error := _unknown(runner, names)) is not None:
        return error
    async with runner.lock:
        starting = [n for n in names if n in runner.stopped]
        runner.stopped.difference_update(starting)
        problem = runner.start_apps(starting)
        if problem is not None:
            runner.stopped.update(starting)
            return {"error": problem}
    return {"started": starting, "already_running": [n for n in names if n not in starting]}


async def restart(runner: Host, message: Answer) -> Answer:
    names = _names(message, list(runner.supervisors))
    if (error := _unknown(runner, names)) is not None:
        return error
    down = [n for n in names if n not in runner.supervisors]
    if down:
        return {"error": f"stopped by request: {', '.join(down)} (use `gaia start`)"}
    skip = message.get("skip_prestart") is True
    for name in names:
        sup = runner.supervisors[name]
        runner.event(f"restart requested for {name}" + (" (prestart skipped)" if skip else ""))
        if sup.state is AppState.RUNNING:
            listeners = runner.listeners_for(sup.app)
            sup.send(Replace(sup.app, listeners, reason="restart", skip_prestart=skip))
        else:
            sup.send(Restart("restart", skip_prestart=skip))
    return {"restarted": names}


async def scale(runner: Host, message: Answer) -> Answer:
    names = _names(message, [])
    workers = message.get("workers")
    if len(names) != 1 or not isinstance(workers, int) or isinstance(workers, bool):
        return {"error": "scale needs one app name and a worker count"}
    if not 1 <= workers <= MAX_WORKERS:
        return {"error": f"workers must be between 1 and {MAX_WORKERS}"}
    if (error := _unknown(runner, names)) is not None:
        return error
    name = names[0]
    async with runner.lock:
        sup = runner.supervisors.get(name)
        if sup is None:
            return {"error": f"{name} is stopped by request (use `gaia start`)"}
        in_file = runner.config.apps[name].workers
        old = sup.app.workers
        if workers == in_file:
            runner.scaled.pop(name, None)
        else:
            runner.scaled[name] = (in_file, workers)
        if workers != old:
            runner.event(f"scale requested for {name}: {old} -> {workers} (gaia.toml: {in_file})")
            sup.send(Scale(dataclasses.replace(sup.app, workers=workers)))
    return {"app": name, "workers": workers, "was": old, "in_file": in_file}


async def reload(runner: Host, message: Answer) -> Answer:
    return await runner.reload()


async def shutdown(runner: Host, message: Answer) -> Answer:
    runner.request_stop()
    return {"stopping": True}


HANDLERS: dict[str, Callable[[Host, Answer], Awaitable[Answer]]] = {
    "status": status,
    "stop": stop,
    "start": start,
    "restart": restart,
    "scale": scale,
    "reload": reload,
    "shutdown": shutdown,
}


async def handle(runner: Host, message: Answer) -> Answer:
    handler = HANDLERS.get(message.get("command", ""))
    if handler is None:
        return {"error": f"unknown command {message.get('command')!r}"}
    return await handler(runner, message)
