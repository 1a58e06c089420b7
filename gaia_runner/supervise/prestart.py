"""The steps before starting (migrations and the like): in order, each must exit 0 in time."""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gaia_runner.config.model import AppConfig
from gaia_runner.process.child import ChildProcess, LineSink, describe_exit
from gaia_runner.process.launch import child_environment


@dataclass(frozen=True)
class PrestartOutcome:
    ok: bool
    reason: str = ""
    spawned: bool = True  # False: a step could not be started at all (cwd gone, EMFILE)


async def run_prestart(
    steps: Sequence[Sequence[str]],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    stop_timeout: float,
    sink: LineSink,
    user: str | None = None,
) -> PrestartOutcome:
    """`timeout` is the budget for all steps together; a step that overruns it, or is
    interrupted, gets `stop_timeout` to exit after SIGTERM."""
    deadline = time.monotonic() + timeout
    for argv in steps:
        shown = shlex.join(argv)
        sink([f"$ {shown}"])
        try:
            child = await ChildProcess.spawn(argv, env=env, cwd=cwd, sink=sink, user=user)
        except OSError as exc:
            why = f"prestart `{shown}` could not start: {exc.strerror}"
            return PrestartOutcome(False, why, spawned=False)
        remaining = max(0.0, deadline - time.monotonic())
        try:
            code = await asyncio.wait_for(asyncio.shield(child.exited), remaining)
        except TimeoutError:
            await child.stop(stop_timeout)
            return PrestartOutcome(False, f"prestart `{shown}` timed out after {timeout:g}s")
        except asyncio.CancelledError:
            # gaia is stopping mid-migration: the step must not outlive us.
            await asyncio.shield(child.stop(stop_timeout))
            raise
        # A step is over when it exits: anything it left in the background would
        # escape supervision (and keep the output pipe open), so it goes too.
        child.kill_group()
        await child.drain()
        if code != 0:
            return PrestartOutcome(False, f"prestart `{shown}` failed: {describe_exit(code)}")
    return PrestartOutcome(True)


async def run_app_prestart(
    app: AppConfig, base_env: Mapping[str, str], stop_timeout: float, sink: LineSink
) -> PrestartOutcome:
    """`app`'s steps, in its directory and environment, as its user."""
    if not app.prestart:
        return PrestartOutcome(True)
    try:
        env = child_environment(app, base_env)
    except OSError as exc:  # its user is gone
        return PrestartOutcome(False, f"prestart could not start: {exc.strerror}", spawned=False)
    return await run_prestart(
        app.prestart,
        env=env,
        cwd=app.cwd,
        timeout=app.prestart_timeout,
        stop_timeout=stop_timeout,
        sink=sink,
        user=app.user,
    )
