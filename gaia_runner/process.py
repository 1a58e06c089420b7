"""One child process tree: its own session, output piped line by line, stopped as a group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gaia_runner.lines import LineSplitter
from gaia_runner.pdeathsig import die_with_parent

LineSink = Callable[[str], None]
_READ_CHUNK = 64 * 1024


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def signal_group(pgid: int, sig: int) -> bool:
    """Signal a whole process group; False when nothing was left to signal."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


class ChildProcess:
    """A spawned command. Its pid is also its process group id (start_new_session)."""

    def __init__(self, proc: asyncio.subprocess.Process, sink: LineSink) -> None:
        self._proc = proc
        self._sink = sink
        self.pid = proc.pid
        self._reader = asyncio.create_task(self._pump(), name=f"pump-{proc.pid}")
        self._exited = asyncio.create_task(self._wait(), name=f"wait-{proc.pid}")

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        sink: LineSink,
        pass_fds: Sequence[int] = (),
    ) -> ChildProcess:
        parent = os.getpid()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            pass_fds=tuple(pass_fds),
            start_new_session=True,
            preexec_fn=lambda: die_with_parent(expected_parent=parent),
        )
        return cls(proc, sink)

    async def _pump(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        splitter = LineSplitter()
        while chunk := await stream.read(_READ_CHUNK):
            for line in splitter.feed(chunk):
                self._sink(line)
        for line in splitter.close():
            self._sink(line)

    async def _wait(self) -> int:
        return await self._proc.wait()

    @property
    def exited(self) -> asyncio.Task[int]:
        """Done the moment the leader exits (asyncio's child watcher, not polling)."""
        return self._exited

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def send_signal(self, sig: int) -> None:
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(sig)

    def kill_group(self) -> None:
        """SIGKILL everything left in the group, e.g. workers orphaned by a dead master."""
        signal_group(self.pid, signal.SIGKILL)

    async def stop(self, timeout: float, sig: int = signal.SIGTERM) -> int:
        """Graceful stop: `sig` to the group, then SIGKILL to the group after `timeout`."""
        if self._proc.returncode is None:
            signal_group(self.pid, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._exited), timeout)
        self.kill_group()
        code = await self._exited
        await self.drain()
        return code

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait for the output pipe to close so the last lines reach the log."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        if not self._reader.done():
            self._reader.cancel()
