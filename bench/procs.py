"""Start processes in their own session, find their workers, and never leak one.

Every process the suite starts carries BENCH_MARK in its environment, so `sweep()` can find
anything that escaped its parent (an orphaned worker) and kill it by pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import psutil

MARK_NAME = "GAIA_BENCH_RUN"
MARK = uuid.uuid4().hex
VENV_BIN = Path(sys.executable).parent

_started: list[subprocess.Popen[bytes]] = []


_given_ports: set[int] = set()


def free_port() -> int:
    """A free loopback port never handed out before in this run (the kernel may repeat one)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env.pop("CI", None)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env[MARK_NAME] = MARK
    env.update(extra or {})
    return env


def spawn(
    argv: Sequence[str],
    cwd: Path,
    log: Path,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start argv in a new session with output to a log file (a pipe could fill and block)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=base_env(env),
            start_new_session=True,
        )
    _started.append(proc)
    return proc


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def workers_of(master_pid: int) -> list[psutil.Process]:
    """Direct children that serve requests: uvicorn's resource tracker is not a worker."""
    try:
        children = psutil.Process(master_pid).children()
    except psutil.Error:
        return []
    out = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            if not any("resource_tracker" in part for part in child.cmdline()):
                out.append(child)
    return out


def kill_pids(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def alive(pids: Iterable[int]) -> list[int]:
    out = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
    return out


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
    """Ask politely, then kill the process group and every descendant seen on the way."""
    seen = {p.pid for p in descendants(proc.pid)}
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            seen |= {p.pid for p in descendants(proc.pid)}
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    kill_pids(alive(seen))
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _marked(proc: psutil.Process) -> bool:
    try:
        return proc.environ().get(MARK_NAME) == MARK
    except psutil.Error:
        return False


def sweep() -> list[int]:
    """Kill (by pid) anything still running that this suite started; returns those pids."""
    me = os.getpid()
    leftovers = [p.pid for p in psutil.process_iter() if p.pid != me and _marked(p)]
    kill_pids(leftovers)
    for proc in _started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2)
    _started.clear()
    return leftovers


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and all its descendants, live or already reaped by their parent."""
    total = 0.0
    procs: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        procs.append(psutil.Process(pid))
    procs += descendants(pid)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def stop_pid(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM a process we did not Popen ourselves (gaia under script), then kill its tree."""
    seen = {p.pid for p in descendants(pid)}
    kill_pids([pid], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive([pid]) and time.monotonic() < deadline:
        seen |= {p.pid for p in descendants(pid)}
        time.sleep(0.05)
    kill_pids(alive([pid, *seen]))
