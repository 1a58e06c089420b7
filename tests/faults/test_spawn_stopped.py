"""The app's own user stops a process gaia is starting as that user, after the user switch
and before exec: gaia's loop must not wait for it. Status and SIGTERM keep answering, and
the half-started process is killed as a failed start."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from harness import FIXTURES, free_port, run_cli, wait_until

CONFIG = """
    [gaia]
    stop_timeout = 3

    [apps.web]
    app = "hello:app"
    server = "uvicorn"
    bind = "127.0.0.1:{port}"
    user = "{user}"
    cwd = "{cwd}"
"""

# Run as the app's user. Each new child of gaia is signalled from the moment it may be (the
# user switch) until it stops; one stopped before exec still has gaia's command line (it is
# a fork of gaia) and is left stopped, any other is continued.
STOPPER = r"""
import os, signal, sys
gaia = sys.argv[1]
gaia_cmdline = open(f"/proc/{gaia}/cmdline", "rb").read()

def children():
    found = set()
    for task in os.listdir(f"/proc/{gaia}/task"):
        try:
            found.update(open(f"/proc/{gaia}/task/{task}/children").read().split())
        except OSError:
            pass
    return found

known = children()
while True:
    for pid in sorted(children() - known):
        known.add(pid)
        for _ in range(200000):
            try:
                os.kill(int(pid), signal.SIGSTOP)
                break
            except PermissionError:  # still root: not switched yet
                continue
            except ProcessLookupError:
                break
        else:
            continue
        state = ""
        for _ in range(100000):
            try:
                stat = open(f"/proc/{pid}/stat").read()
            except OSError:
                break
            state = stat[stat.rfind(")") + 2]
            if state in "TtZX":
                break
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if state == "T" and cmdline == gaia_cmdline:
            print(pid, flush=True)
            sys.exit(0)
        try:
            os.kill(int(pid), signal.SIGCONT)
        except OSError:
            pass
"""


def _answers(workdir: Path, config: Path) -> bool:
    done = run_cli("status", "-c", str(config), cwd=workdir, timeout=10)
    return done.returncode == 0 and "web" in done.stdout


@pytest.mark.timeout(150)
def test_a_stopped_half_started_child_does_not_hold_gaia(gaia, app_user: str) -> None:
    port = free_port()
    g = gaia(CONFIG.format(port=port, user=app_user, cwd=FIXTURES))
    g.wait_for(r"web: starting -> running", timeout=45)
    stopper = subprocess.Popen(
        [sys.executable, "-c", STOPPER, str(g.pid)],
        user=app_user,
        group=app_user,
        extra_groups=[],
        cwd="/",
        stdout=subprocess.PIPE,
        text=True,
    )
    caught: int | None = None
    try:
        # Each restart spawns the app again as its user: one of them is caught before exec.
        deadline = time.monotonic() + 90
        while stopper.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                run_cli("restart", "web", "-c", str(g.config_path), cwd=g.workdir, timeout=20)
        assert stopper.poll() == 0, "no spawn was caught between the switch and exec"
        caught = int(stopper.communicate(timeout=10)[0].split()[0])
        # The caught process is gaia's child, stopped, and not yet exec'd.
        assert psutil.Process(caught).ppid() == g.pid
        for _ in range(3):
            assert _answers(g.workdir, g.config_path), "gaia status did not answer"
        g.wait_for(r"web: .*did not reach exec within", timeout=30)
        wait_until(lambda: not psutil.pid_exists(caught), 15, "the stopped child killed")
        caught = None
        assert _answers(g.workdir, g.config_path)
        assert g.stop(timeout=30) == 0
    finally:
        if stopper.poll() is None:
            stopper.kill()
        stopper.communicate(timeout=10)
        if caught is not None:
            # Before the fix gaia waits on it for ever: let the fixture stop gaia.
            with contextlib.suppress(ProcessLookupError):
                os.kill(caught, signal.SIGKILL)
