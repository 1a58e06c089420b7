"""state_dir/gaia.pid: which process is the running gaia for this config.

One gaia per state dir: gaia holds an flock on state_dir/gaia.lock for its whole life, so
two `gaia up` at once cannot both run, and the kernel releases the lock when gaia dies
however it dies (a SIGKILLed gaia's stale record is simply overwritten by the next). Only
the lock holder writes or removes gaia.pid. The lock file itself is never removed: a
process that opened it just before a removal would lock an inode nobody else sees.

A pid alone is not an identity: after gaia is SIGKILLed the kernel hands its pid to
some other process, and `gaia reload` would send SIGHUP to that stranger. The file
records the pid and the process start time, and a signal goes out only to a process
whose start time still matches, through a pidfd so the pid cannot change in between.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from gaia_runner.statedir import StateDirError, read_private_file, write_private_file

PID_FILE = "gaia.pid"
LOCK_FILE = "gaia.lock"
# Start times are kernel ticks (10 ms): equal readings of one process never differ more.
_SAME_START = 0.05


def pid_file(state_dir: Path) -> Path:
    return state_dir / PID_FILE


# How long a gaia that lost the lock waits for the winner's record, to name its pid.
_RECORD_WAIT = 2.0


class AlreadyRunning(Exception):
    """Another gaia holds this state dir."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid is not None else "it is still starting"
        super().__init__(f"gaia is already running for this state_dir ({who}): {state_dir}")
        self.pid = pid


@dataclass(frozen=True)
class Record:
    pid: int
    started: float
    config: str | None  # the gaia.toml it runs; None in a record of an older gaia


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _recorded(path: Path) -> tuple[int, float] | None:
    record = read_record(path)
    return None if record is None else (record.pid, record.started)


def read_record(path: Path) -> Record | None:
    """Line 1: pid and start time; line 2 (JSON, any path survives): the config file."""
    try:
        lines = read_private_file(path).splitlines()
        fields = lines[0].split()
        pid, started = int(fields[0]), float(fields[1])
    except (OSError, ValueError, IndexError):
        return None
    try:
        config = json.loads(lines[1]) if len(lines) > 1 else None
    except ValueError:
        config = None
    return Record(pid, started, config if isinstance(config, str) else None)


def running_gaia(path: Path) -> int | None:
    """The pid of the gaia that wrote `path`, if that very process still runs."""
    record = running_record(path)
    return None if record is None else record.pid


def running_record(path: Path) -> Record | None:
    """The record at `path`, if the very process that wrote it still runs."""
    record = read_record(path)
    if record is None:
        return None
    actual = _start_time(record.pid)
    if actual is None or abs(actual - record.started) > _SAME_START:
        return None
    return record


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


def _lock(state_dir: Path) -> int:
    """An fd holding the state dir's lock; AlreadyRunning if another gaia holds it."""
    path = state_dir / LOCK_FILE
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise StateDirError(f"cannot open {path}: {exc.strerror}") from None
    try:
        _take(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _take(fd: int, path: Path) -> None:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise StateDirError(f"{path} is not a regular file")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise AlreadyRunning(path.parent, _winner(pid_file(path.parent))) from None


def _winner(path: Path) -> int | None:
    """The lock holder may not have written its record yet."""
    deadline = time.monotonic() + _RECORD_WAIT
    while (pid := running_gaia(path)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


@contextlib.contextmanager
def pid_record(state_dir: Path, config: Path) -> Iterator[None]:
    """Hold the state dir for this process's whole life and say who holds it.

    The lock fd is close-on-exec, so no app inherits it: an orphaned app must not keep
    the next gaia out."""
    lock = _lock(state_dir)
    path = pid_file(state_dir)
    me = os.getpid()
    record = f"{me} {_start_time(me)!r}\n{json.dumps(str(config))}\n"
    try:
        write_private_file(path, record.encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            if read_private_file(path) == record:
                path.unlink()
        os.close(lock)  # releases the lock, after the record is gone
