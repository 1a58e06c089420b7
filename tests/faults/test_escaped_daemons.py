"""Daemons that leave their app's session (a double fork into a new session, a prestart's
`setsid sleep &`) are stopped with their app and with gaia, and do not pile up on
restarts. Real gaia, real processes; each daemon writes its pid where the test reads it."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil
import pytest
from harness import free_port, run_cli, wait_until

# Forks, the child starts a new session and forks again; the grandchild (the daemon)
# writes its pid and sleeps. The intermediate exits at once, so the daemon is never
# seen under the app's tree for long: gaia adopts it.
DOUBLE_FORK = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(sys.argv[1], "a") as f:
            f.write(f"{os.getpid()}\\n")
        os.execvp("sleep", ["sleep", "1000"])
    os._exit(0)
print("daemon started", flush=True)
time.sleep(int(sys.argv[2]))
"""


def _daemons(record: Path) -> list[int]:
    if not record.exists():
        return []
    return [int(line) for line in record.read_text().split()]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _status(g) -> dict:  # type: ignore[no-untyped-def]
    done = run_cli("status", "--json", "-c", str(g.config_path), cwd=g.workdir)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _app(tmp_path: Path, lives: int = 1000) -> str:
    (tmp_path / "daemon.py").write_text(DOUBLE_FORK)
    return f"""
        [gaia]
        stop_timeout = "2s"

        [apps.worker]
        command = ["python", "daemon.py", "{tmp_path / "pids"}", "{lives}"]
    """


@pytest.mark.timeout(60)
def test_stopping_the_app_kills_the_daemon_it_started(gaia, tmp_path) -> None:
    g = gaia(_app(tmp_path))
    record = tmp_path / "pids"
    wait_until(lambda: _daemons(record), 20, "the daemon's pid")
    (daemon,) = _daemons(record)
    assert _alive(daemon)
    done = run_cli("stop", "worker", "-c", str(g.config_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    wait_until(lambda: not _alive(daemon), 10, "the escaped daemon to be killed")
    assert g.stop() == 0


@pytest.mark.timeout(60)
def test_gaia_leaves_no_daemon_behind_at_exit(gaia, tmp_path) -> None:
    g = gaia(_app(tmp_path))
    record = tmp_path / "pids"
    wait_until(lambda: _daemons(record), 20, "the daemon's pid")
    (daemon,) = _daemons(record)
    g.signal(signal.SIGTERM)
    assert g.wait(15) == 0
    # Not a zombie either: gaia waited for it before leaving.
    assert not psutil.pid_exists(daemon) or not _alive(daemon)


@pytest.mark.timeout(60)
def test_restarts_do_not_pile_daemons_up(gaia, tmp_path) -> None:
    # The command exits after a second, each time leaving a daemon behind.
    g = gaia(_app(tmp_path, lives=1))
    record = tmp_path / "pids"
    wait_until(lambda: len(_daemons(record)) >= 3, 40, "three restarts")
    # Every daemon but the newest one's was killed with its copy; the newest may live.
    wait_until(lambda: sum(_alive(p) for p in _daemons(record)) <= 1, 10, "old daemons to be gone")
    assert g.stop() == 0
    assert not any(_alive(p) for p in _daemons(record))


@pytest.mark.timeout(60)
def test_a_prestart_daemon_does_not_survive_its_step(gaia, tmp_path) -> None:
    record = tmp_path / "pids"
    g = gaia(f"""
        [apps.api]
        app = "hello:app"
        bind = "127.0.0.1:{free_port()}"
        prestart = [["sh", "-c", "setsid sleep 1000 & echo $! > {record}"]]
    """)
    g.wait_for(r"api: starting -> running", timeout=30)
    wait_until(lambda: _daemons(record), 10, "the prestart daemon's pid")
    (daemon,) = _daemons(record)
    wait_until(lambda: not _alive(daemon), 10, "the prestart daemon to be killed")
    assert g.stop() == 0


def test_an_adopted_orphan_is_reaped(gaia, tmp_path) -> None:
    """An orphan that exits on its own leaves no zombie in gaia."""
    g = gaia(_app(tmp_path))
    record = tmp_path / "pids"
    wait_until(lambda: _daemons(record), 20, "the daemon's pid")
    (daemon,) = _daemons(record)
    if psutil.Process(daemon).ppid() != g.pid:
        pytest.fail("gaia did not adopt the orphan: it is not the child subreaper")
    os.kill(daemon, signal.SIGKILL)
    wait_until(lambda: not psutil.pid_exists(daemon), 10, "the zombie to be reaped")
    assert _status(g)["apps"]
    assert g.stop() == 0
