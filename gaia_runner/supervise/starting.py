"""Starting one generation and proving it serves: the part of an app's life that a
first start, a restart and a zero-downtime replace share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from gaia_runner.config.model import AppConfig
from gaia_runner.process.child import LineSink
from gaia_runner.process.generation import Generation
from gaia_runner.process.sockets import Listener
from gaia_runner.supervise.monitors import Condemned, Host, watch_crash_loop

Spawner = Callable[..., Awaitable[Generation]]


class GenerationStarter:
    """Numbers generations and spawns them with everything the app's config does not say."""

    def __init__(
        self,
        spawn: Spawner,
        *,
        run_dir: Path,
        base_env: Mapping[str, str],
        sink: Callable[[], LineSink],
        command_grace: float,
        debug: bool,
    ) -> None:
        self._spawn = spawn
        self._run_dir = run_dir
        self._base_env = base_env
        self._sink = sink
        self._command_grace = command_grace
        self._debug = debug
        self.number = 0

    async def spawn(self, app: AppConfig, listeners: Sequence[Listener]) -> Generation:
        self.number += 1
        generation = await self._spawn(
            self.number,
            app,
            listeners,
            self._run_dir,
            self._base_env,
            self._sink(),
            debug=self._debug,
        )
        generation.command_grace = self._command_grace
        return generation


async def until_serving(
    host: Host, generation: Generation, timeout: float
) -> Condemned | int | None:
    """None once serving; else the exit code, or why gaia gave up on the start."""
    serving = asyncio.ensure_future(generation.wait_serving())
    exited = asyncio.ensure_future(generation.first_exit())
    looping = asyncio.ensure_future(watch_crash_loop(host, generation, serving=False))
    waiting = {serving, exited, looping}
    try:
        done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waiting:
            task.cancel()
    if exited in done:
        code = exited.result().returncode
        return code if code is not None else -1
    if serving in done:
        return None  # a worker that dies once the app has answered is the watchers' business
    if looping in done:
        return looping.result()
    last = f" (last probe: {generation.last_probe})" if generation.last_probe else ""
    return Condemned(f"not serving after {timeout:g}s{last}", "start timeout")
