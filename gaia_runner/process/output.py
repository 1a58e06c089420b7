"""Read a child's output pipe: always drained, never throttled, few wakeups for a trickle.

An app blocks as soon as its pipe is full, so nothing here may stop reading: not a slow
or failing sink (a full disk), not a burst. Lines go to the sink in batches, one per read.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sys
import traceback
from collections.abc import Callable

from gaia_runner.logs.lines import LineSplitter
from gaia_runner.logs.writer import warn_stderr

LineSink = Callable[[list[str]], None]
# Below this much per read the app is trickling: gaia then waits GATHER before the next
# read so that one wakeup takes many lines. The pipe holds PIPE_SIZE meanwhile, so only an
# app writing faster than PIPE_SIZE / GATHER (100 MB/s) could wait, and only once: its
# next reads are large, and large reads are followed by another read at once.
QUIET_READ = 64 * 1024
GATHER = 0.01
PIPE_SIZE = 1024 * 1024
_F_SETPIPE_SZ = 1031


def output_pipe() -> tuple[int, int]:
    """One pipe for stdout and stderr, so their lines keep their order."""
    read_end, write_end = os.pipe()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_end, _F_SETPIPE_SZ, PIPE_SIZE)
    return read_end, write_end


class OutputReader(asyncio.Protocol):
    """`done` resolves once the pipe is closed and the last lines were handed on."""

    def __init__(self, sink: LineSink, name: str) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._sink = sink
        self._name = name
        self._splitter = LineSplitter()
        self._transport: asyncio.ReadTransport | None = None
        self._wake: asyncio.TimerHandle | None = None
        self._sink_failed = False
        self.done: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._deliver(self._splitter.feed(data))
        if len(data) < QUIET_READ and self._transport is not None and self._wake is None:
            self._transport.pause_reading()
            self._wake = self._loop.call_later(GATHER, self._resume)

    def _resume(self) -> None:
        self._wake = None
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        self._deliver(self._splitter.close())
        if not self.done.done():
            self.done.set_result(None)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _deliver(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self._sink(lines)
        except Exception:
            # A bug downstream loses these lines, but must not leave the app blocked on
            # a full pipe: keep reading, and say so once.
            if not self._sink_failed:
                self._sink_failed = True
                # Through stderr's queue: a stderr nobody reads must not block the loop.
                warn_stderr(f"output of {self._name} is being dropped:\n{traceback.format_exc()}")
