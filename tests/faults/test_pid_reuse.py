"""A reaped leader's pid handed to another user's group leader: gaia's group kill for the
old child must not reach it. The reuse is made deterministic with ns_last_pid (root)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from gaia_runner.process.child import ChildProcess

LAST_PID = Path("/proc/sys/kernel/ns_last_pid")
LEADER = "import time; time.sleep(60)"


def _reuse(pid: int) -> subprocess.Popen[bytes] | None:
    """A new session leader with exactly `pid`, or None when another fork took it first."""
    LAST_PID.write_text(str(pid - 1))
    other = subprocess.Popen([sys.executable, "-c", LEADER], start_new_session=True)
    if other.pid == pid:
        return other
    other.kill()
    other.wait(10)
    return None


@pytest.mark.timeout(60)
def test_group_kill_after_reap_spares_the_process_that_reused_the_pid(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not os.access(LAST_PID, os.W_OK):
        pytest.skip("choosing the next pid needs root and ns_last_pid")

    async def scenario() -> subprocess.Popen[bytes] | None:
        for _ in range(20):
            child = await ChildProcess.spawn(
                ["true"], env={"PATH": os.environ["PATH"]}, cwd=tmp_path, sink=lambda _: None
            )
            await child.exited
            await child.drain()
            other = await asyncio.to_thread(_reuse, child.pid)
            if other is not None:
                child.kill_group()
                return other
        return None

    other = asyncio.run(scenario())
    if other is None:
        pytest.skip("the pid was taken by another fork every time")
    try:
        with contextlib.suppress(subprocess.TimeoutExpired):
            other.wait(0.5)
        assert other.poll() is None, "gaia's group kill reached a process that reused the pid"
        assert psutil.Process(other.pid).status() != psutil.STATUS_ZOMBIE
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait(10)
