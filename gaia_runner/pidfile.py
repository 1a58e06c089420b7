"""state_dir/gaia.pid: which process is the running gaia for this config.

A pid alone is not an identity: after gaia is SIGKILLed the kernel hands its pid to
some other process, and `gaia reload` would send SIGHUP to that stranger. The file
records the pid and the process start time, and a signal goes out only to a process
whose start time still matches, through a pidfd so the pid cannot change in between.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil

from gaia_runner.process.statedir import read_private_file, write_private_file

PID_FILE = "gaia.pid"
# Start times are kernel ticks (10 ms): equal readings of one process never differ more.
_SAME_START = 0.05


def pid_file(state_dir: Path) -> Path:
    return state_dir / PID_FILE


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _recorded(path: Path) -> tuple[int, float] | None:
    try:
        fields = read_private_file(path).split()
        pid, started = int(fields[0]), float(fields[1])
    except (OSError, ValueError, IndexError):
        return None
    return pid, started


def running_gaia(path: Path) -> int | None:
    """The pid of the gaia that wrote `path`, if that very process still runs."""
    record = _recorded(path)
    if record is None:
        return None
    pid, started = record
    actual = _start_time(pid)
    if actual is None or abs(actual - started) > _SAME_START:
        return None
    return pid


def signal_gaia(path: Path, sig: signal.Signals) -> int | None:
    """Send `sig` to the running gaia; None (and no signal) when there is none."""
    record = _recorded(path)
    if record is None:
        return None
    pid, started = record
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        # The pidfd pins this process: checked now, it is the one that gets the signal.
        actual = _start_time(pid)
        if actual is None or abs(actual - started) > _SAME_START:
            return None
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        return None
    finally:
        os.close(pidfd)
    return pid


@contextlib.contextmanager
def pid_record(path: Path) -> Iterator[None]:
    me = os.getpid()
    started = _start_time(me)
    record = f"{me} {started!r}\n"
    write_private_file(path, record.encode())
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if read_private_file(path) == record:
                path.unlink()
