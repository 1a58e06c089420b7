"""`gaia up -d` (start gaia in the background, return once every app settled) and
`gaia down` (stop that gaia gracefully and wait for it to exit)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from gaia_runner import control
from gaia_runner.cli.control import print_status
from gaia_runner.cli.flags import ConfigOption
from gaia_runner.cli.options import (
    EXIT_APP_FAILED,
    EXIT_NO_GAIA,
    EXIT_TIMEOUT,
    NO_GAIA,
    duration_flag,
    fail,
)
from gaia_runner.cli.remote import running_state_dir
from gaia_runner.control import control_path
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.pidfile import pid_file, running_gaia, signal_gaia
from gaia_runner.statedir import ensure_private_dir, open_private_append_fd

POLL = 0.1
SETTLED = (AppState.RUNNING, AppState.FAILED, AppState.FATAL)
# Where a detached gaia's stderr goes: normally empty, it catches what gaia could not log.
DETACHED_STDERR = "gaia.stderr.log"


# Once settled, how long the table may wait for every running app's first sample: a row
# printed before it says RUNNING with 0/2 workers and no memory, which is not true.
SAMPLE_WAIT = 5.0


def _settled(snapshot: Snapshot) -> bool:
    moving = [
        a for a in snapshot.apps if not (a.state in SETTLED or a.stopped_by_request or a.completed)
    ]
    # An app waiting for depends_on moves only when another one does: with nothing else
    # in motion, a dependency of it is down, and its row says which.
    return all(app.state is AppState.WAITING for app in moving)


def _sampled(snapshot: Snapshot) -> bool:
    return all(
        app.memory_bytes is not None and app.workers_live >= app.workers_desired
        for app in snapshot.apps
        if app.state is AppState.RUNNING
    )


def _tail(path: Path, offset: int, lines: int = 20) -> str:
    """The last lines written after `offset`: earlier runs' lines are not this one's."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def detach(state_dir: Path, argv: list[str], timeout: float) -> None:
    """Start `gaia up` with argv in its own session, output to files only; return once
    every app is RUNNING or has failed, printing the table. Exits with the outcome."""
    logs = state_dir / "logs"
    ensure_private_dir(logs)
    stderr_fd = open_private_append_fd(logs / DETACHED_STDERR)
    offset = os.fstat(stderr_fd).st_size
    try:
        child = subprocess.Popen(
            # -P: `python -m` would put the caller's directory first on sys.path, and a
            # `gaia_runner/` planted there (by whoever can write /tmp or a project) would
            # run as root in place of gaia.
            [sys.executable, "-P", "-m", "gaia_runner", "up", "--detached-child", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_fd,
            start_new_session=True,
        )
    finally:
        os.close(stderr_fd)
    deadline = time.monotonic() + timeout
    sample_deadline = float("inf")
    snapshot: Snapshot | None = None
    pids = pid_file(state_dir)
    while time.monotonic() < deadline:
        if (code := child.poll()) is not None:
            message = _tail(logs / DETACHED_STDERR, offset) or f"gaia exited with status {code}"
            raise fail(message, code or EXIT_APP_FAILED)
        # Until our child holds the state dir, whatever answers on the socket is another
        # gaia (one started at the same moment wins the lock and ours exits).
        if running_gaia(pids) != child.pid:
            time.sleep(POLL)
            continue
        try:
            answer = control.request(control_path(state_dir), {"command": "status"}, 5.0)
            snapshot = Snapshot.from_json(answer["snapshot"])
        except (control.ControlError, OSError):
            snapshot = None  # not listening yet
        if snapshot is not None and _settled(snapshot):
            sample_deadline = min(sample_deadline, time.monotonic() + SAMPLE_WAIT)
            if _sampled(snapshot) or time.monotonic() >= sample_deadline:
                break
        time.sleep(POLL)
    if snapshot is not None:
        print_status(snapshot)
    print(f"gaia runs in the background (pid {child.pid}); `gaia down` stops it")
    if snapshot is None or not _settled(snapshot):
        raise fail(f"error: apps still starting after {timeout:g}s", EXIT_TIMEOUT)
    if any(app.state is not AppState.RUNNING and not app.completed for app in snapshot.apps):
        raise SystemExit(EXIT_APP_FAILED)


def down(
    config: ConfigOption = None,
    timeout: Annotated[
        str, typer.Option("--timeout", help='How long to wait for gaia to exit, e.g. "2m".')
    ] = "120",
) -> None:
    """Stop the running gaia gracefully (every app, then gaia) and wait until it exits."""
    seconds = duration_flag("--timeout", timeout)
    pids = pid_file(running_state_dir(config))
    pid = signal_gaia(pids, signal.SIGTERM)
    if pid is None:
        raise fail(NO_GAIA, EXIT_NO_GAIA)
    deadline = time.monotonic() + seconds
    while running_gaia(pids) == pid:
        if time.monotonic() > deadline:
            raise fail(f"error: gaia (pid {pid}) still running after {seconds:g}s", EXIT_TIMEOUT)
        time.sleep(POLL)
    typer.echo(f"gaia (pid {pid}) stopped")
