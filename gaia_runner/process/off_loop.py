"""Fork and exec off the event loop, so no step of a spawn can hold gaia.

subprocess's parent waits, reading a pipe, until its child has exec'd. With `user=` the
child is already that user before exec, and that user may SIGSTOP it there: on the loop,
that wait held gaia (status, supervision, SIGTERM) for as long as the user wished. Here the
wait runs in a spawner thread, under a deadline after which the half-started child is
killed (SIGKILL ends a stopped process too) and the start fails. The exit is watched
through a pidfd on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

EXEC_DEADLINE = 5.0  # fork to exec normally takes milliseconds, even on a loaded machine

# Long-lived on purpose: a child's parent-death signal (pdeathsig.py) fires when the
# *thread* that forked it ends, so these threads must live as long as gaia does.
_SPAWNERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gaia-spawn")


class ExecTimeout(OSError):
    """The child did not reach exec within the deadline (stopped or stuck before it)."""


class _Start:
    """One Popen in a spawner thread, which the loop may give up on at any moment."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self._kwargs = kwargs
        self._lock = threading.Lock()
        self._popen: subprocess.Popen[bytes] | None = None
        self._abandoned = False
        self._handed = False

    @property
    def forked(self) -> bool:
        return getattr(self._popen, "pid", None) is not None

    def run(self) -> subprocess.Popen[bytes] | None:
        # Created before __init__ runs so the loop can read its pid, which Popen sets
        # right after the fork and before it waits for the exec.
        popen: subprocess.Popen[bytes] = subprocess.Popen.__new__(subprocess.Popen)
        with self._lock:
            if self._abandoned:
                return None
            self._popen = popen
        popen.__init__(**self._kwargs)  # type: ignore[misc]
        with self._lock:
            if not self._abandoned:
                self._handed = True
                return popen
        _kill_and_reap(popen)
        return None

    def abandon(self) -> None:
        """The loop gave up: kill the child whenever it exists, and reap it."""
        with self._lock:
            self._abandoned = True
            popen, handed = self._popen, self._handed
        if getattr(popen, "pid", None) is None:
            return  # run() sees the flag after Popen returns, and kills what it made
        if handed:
            threading.Thread(target=_kill_and_reap, args=(popen,), daemon=True).start()
        else:
            # Its own Popen still waits for the exec; this ends that wait, and run() reaps.
            with contextlib.suppress(ProcessLookupError):
                os.kill(popen.pid, signal.SIGKILL)  # type: ignore[union-attr]


def _kill_and_reap(popen: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(popen.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(popen.pid, 0)
    popen.returncode = -signal.SIGKILL


async def popen_off_loop(deadline: float = EXEC_DEADLINE, **kwargs: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen(**kwargs), waited for in a spawner thread. Raises what Popen
    raises, or ExecTimeout once the child has spent `deadline` seconds between fork and
    exec (it is killed and reaped by then)."""
    loop = asyncio.get_running_loop()
    start = _Start(kwargs)
    future = loop.run_in_executor(_SPAWNERS, start.run)
    # A start given up on may still fail later: its error is nobody's to log.
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        # asyncio.wait, not wait_for: on 3.11 wait_for returns a result that arrived with
        # a cancellation and drops the cancel, which left a stopping gaia waiting for a
        # prestart step nobody would ever stop.
        while not (await asyncio.wait({future}, timeout=deadline))[0]:
            if start.forked:  # not merely queued behind other spawns
                start.abandon()
                raise ExecTimeout(
                    f"did not reach exec within {deadline:g} s (stopped or stuck "
                    "before exec, as its user may do); killed"
                )
    except asyncio.CancelledError:
        start.abandon()
        raise
    popen = future.result()
    assert popen is not None  # only an abandoned start returns None
    return popen


class Exited:
    """The exit of a child spawned off the loop: reaped by pid when its pidfd says so,
    so the status is ours and the pid cannot be signalled once it may be reused."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid: int = popen.pid
        loop = asyncio.get_running_loop()
        self._done: asyncio.Future[int] = loop.create_future()
        try:
            self._pidfd: int | None = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self._pidfd = None
        if self._pidfd is not None:
            loop.add_reader(self._pidfd, self._reap)
            self._reap()  # it may have exited before the reader was added
        else:
            threading.Thread(target=self._wait_blocking, args=(loop,), daemon=True).start()

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    def send_signal(self, sig: int) -> None:
        if self._popen.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, sig)
            else:
                os.kill(self.pid, sig)  # unreaped, so still ours

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, 255 << 8  # reaped by someone else: status lost
        if pid == 0:
            return
        self._finish(os.waitstatus_to_exitcode(status))

    def _finish(self, code: int) -> None:
        self._popen.returncode = code  # so Popen never waits for this pid itself
        if self._pidfd is not None:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if not self._done.done():
            self._done.set_result(code)

    def _wait_blocking(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = 255
        loop.call_soon_threadsafe(self._finish, code)
