"""Starting one generation and proving it serves: the part of an app's life that a
first start, a restart and a zero-downtime replace share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from gaia_runner.config.model import AppConfig
from gaia_runner.dev.standby import Standby
from gaia_runner.process.child import LineSink
from gaia_runner.process.generation import Generation
from gaia_runner.process.launch import imports_record
from gaia_runner.process.sockets import Listener
from gaia_runner.supervise.monitors import Condemned, MonitorHost, watch_crash_loop

Spawner = Callable[..., Awaitable[Generation]]
CLOSE_TIMEOUT = 5.0


class GenerationStarter:
    """Numbers generations and spawns them with everything the app's config does not say.

    In dev mode (`debug`, with the real spawner) it also keeps a standby: the next
    generation's process, warm (see dev/standby.py), started once a generation
    serves and kept only while one does. A serving generation's end (a crash, a stop)
    discards it at once, so it never holds the app's sockets while the app is down.
    """

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
        self._issued = 0  # every number is used once: files and probe sockets carry it
        self._warm = debug and spawn == Generation.start
        self._standby: Standby | None = None
        self._serving: set[Generation] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._records: set[Path] = set()
        self._closed = False

    @property
    def next_number(self) -> int:
        return self._standby.number if self._standby is not None else self._issued + 1

    def _issue(self) -> int:
        self._issued += 1
        return self._issued

    async def spawn(self, app: AppConfig, listeners: Sequence[Listener]) -> Generation:
        generation = self._released(app, listeners)
        if generation is None:
            generation = await self._spawn(
                self._issue(),
                app,
                listeners,
                self._run_dir,
                self._base_env,
                self._sink(),
                debug=self._debug,
            )
        generation.command_grace = self._command_grace
        if self._warm:
            self._later(self._after_settled(generation, app, listeners))
        return generation

    def _released(self, app: AppConfig, listeners: Sequence[Listener]) -> Generation | None:
        standby, self._standby = self._standby, None
        if standby is None:
            return None
        generation = Generation.from_standby(
            standby, app, listeners, self._run_dir, self._base_env, debug=self._debug
        )
        if generation is None:
            self._discard(standby)
        return generation

    def _later(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _wanted(self) -> bool:
        return not self._closed and bool(self._serving) and self._standby is None

    async def _after_settled(
        self, generation: Generation, app: AppConfig, listeners: Sequence[Listener]
    ) -> None:
        """Once `generation` serves (or failed while an older one still serves), start
        the next standby. Started only now, it takes no CPU from a booting generation."""
        exited = generation.leader.exited
        served = asyncio.ensure_future(generation.served.wait())
        try:
            await asyncio.wait({served, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            served.cancel()
        if generation.served.is_set() and not exited.done():
            self._serving.add(generation)
            exited.add_done_callback(lambda _: self._ended(generation))
        if not self._wanted():
            return
        self._records.add(imports_record(self._run_dir, app))
        try:
            standby = await Generation.standby(
                self._issue(), app, listeners, self._run_dir, self._base_env, self._sink()
            )
        except OSError:
            return  # no standby (cwd gone, EMFILE): the next save starts cold
        if standby is not None and self._wanted():
            self._standby = standby
        elif standby is not None:
            self._discard(standby)  # the app went down, or another took its place

    def _ended(self, generation: Generation) -> None:
        self._serving.discard(generation)
        if not self._serving and self._standby is not None:
            standby, self._standby = self._standby, None
            self._discard(standby)

    def _discard(self, standby: Standby) -> None:
        standby.discard()
        self._later(standby.wait())

    async def close(self) -> None:
        """The app stopped for good (its generations are gone): no standby outlives it."""
        self._closed = True
        if self._standby is not None:
            standby, self._standby = self._standby, None
            self._discard(standby)
        # Every generation has ended, so these finish; a standby still being spawned is
        # discarded by its own task, which sees _closed.
        while pending := [t for t in self._tasks if not t.done()]:
            done, _ = await asyncio.wait(pending, timeout=CLOSE_TIMEOUT)
            if not done:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        for record in self._records:
            with contextlib.suppress(OSError):
                record.unlink()


async def until_serving(
    host: MonitorHost, generation: Generation, timeout: float
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
