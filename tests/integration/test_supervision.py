"""Restarts, crash loops, memory limits and health checks against real server trees."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
from harness import free_port, http_get, try_get, wait_until
from load import SteadyLoad
from test_up import app_master, workers_of

FAST_BACKOFF = 'backoff = { initial = "200ms", factor = 2, max = "1s", reset_after = "30s" }'


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_killed_master_is_replaced_without_orphans(gaia, server: str) -> None:
    port = free_port()
    g = gaia(f"""
        [gaia]
        stop_timeout = "5s"

        [apps.api]
        app = "hello:app"
        server = "{server}"
        workers = 2
        bind = "127.0.0.1:{port}"
        {FAST_BACKOFF}
    """)
    wait_until(lambda: try_get(port), 20, "first answer")
    master = app_master(g.pid, "api")
    wait_until(lambda: len(workers_of(master.pid)) == 2, 10, "2 workers")
    old_workers = workers_of(master.pid)
    mark = g.mark()
    killed_at = time.monotonic()
    os.kill(master.pid, signal.SIGKILL)
    g.wait_for(r"api: .*killed by SIGKILL", start=mark)
    wait_until(
        lambda: not any(_alive(w) for w in old_workers),
        3,
        "old workers gone",
    )
    new_master = wait_until(
        lambda: (m := app_master(g.pid, "api")).pid != master.pid and m, 10, "a new master"
    )
    wait_until(lambda: try_get(port), 10, "serving again")
    assert time.monotonic() - killed_at < 8
    assert "already in use" not in g.output()
    g.wait_for(r"api: starting -> running", start=mark)
    assert isinstance(new_master, psutil.Process)
    assert g.stop() == 0


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_import_error_ends_fatal_with_the_traceback(gaia, server: str) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.broken]
        app = "broken:app"
        server = "{server}"
        workers = 2
        bind = "127.0.0.1:{port}"
        max_start_failures = 3
        {FAST_BACKOFF}
    """)
    g.wait_for(r"broken: .*-> fatal: gave up after 3 failed starts", timeout=40)
    assert "RuntimeError: broken fixture" in g.output()
    gaia_proc = psutil.Process(g.pid)
    gaia_proc.cpu_percent(None)
    # FATAL is terminal: nothing is respawned and gaia sits idle.
    time.sleep(1.0)
    assert gaia_proc.cpu_percent(None) < 5
    assert [c for c in gaia_proc.children(recursive=True)] == []
    assert g.stop() == 0


def test_worker_crash_loop_in_a_live_master_is_condemned(gaia) -> None:
    """uvicorn respawns workers that die at import forever; gaia must stop that."""
    port = free_port()
    g = gaia(
        f"""
        [apps.loop]
        app = "broken:app"
        server = "uvicorn"
        workers = 1
        bind = "127.0.0.1:{port}"
        max_start_failures = 2
        start_timeout = "60s"
        {FAST_BACKOFF}
    """,
        env={"GAIA_CRASH_LIMIT": "3"},
    )
    g.wait_for(r"loop: .*-> fatal", timeout=40)
    assert g.stop() == 0


def test_leaking_worker_is_recycled_without_failed_requests(gaia) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.leaky]
        app = "hello:app"
        workers = 2
        bind = "127.0.0.1:{port}"
        memory = {{ worker = "120MiB", interval = "200ms", samples = 3 }}
    """)
    wait_until(lambda: try_get(port), 20, "first answer")
    master = app_master(g.pid, "leaky")
    wait_until(lambda: len(workers_of(master.pid)) == 2, 10, "2 workers")
    with SteadyLoad(port, rate=200, duration=10) as load:
        time.sleep(1)
        # /leak keeps the memory in whichever worker answered: that one crosses 120 MiB.
        http_get(port, "/leak?mb=150")
        g.wait_for(r"recycling worker \d+: worker \d+ uses", timeout=5)
    result = load.result
    assert result.failed == 0, result.errors[:5]
    assert result.ok > 1500
    wait_until(lambda: len(workers_of(master.pid)) == 2, 10, "2 workers again")
    assert app_master(g.pid, "leaky").pid == master.pid  # the master was never restarted
    assert g.stop() == 0


def test_hung_app_is_restarted_for_health_and_slow_one_is_not(gaia) -> None:
    hung, slow = free_port(), free_port()
    g = gaia(f"""
        [gaia]
        stop_timeout = "2s"

        [apps.hung]
        app = "hello:app"
        bind = "127.0.0.1:{hung}"
        env = {{ HANG_AFTER = "1.5" }}
        health = {{ path = "/healthz", interval = "300ms", timeout = "300ms", failures = 3 }}
        {FAST_BACKOFF}

        [apps.slow]
        app = "hello:app"
        bind = "127.0.0.1:{slow}"
        health = {{ path = "/slow?seconds=0.2", interval = "300ms", timeout = "1s", failures = 2 }}
    """)
    g.wait_for(r"hung: .*running -> stopping: health check /healthz failed 3 times", timeout=20)
    g.wait_for(r"hung: .*backoff -> starting", timeout=10)
    # By now the slow app has been probed several times (every 300 ms) while hung failed.
    assert "slow: running -> stopping" not in g.output()
    assert try_get(slow) is not None
    assert g.stop() == 0


def test_cpu_bound_handler_does_not_fail_health(gaia) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.busy]
        app = "hello:app"
        bind = "127.0.0.1:{port}"
        health = {{ path = "/healthz", interval = "500ms", timeout = "1s", failures = 3 }}
    """)
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"busy: starting -> running")
    # One worker holds the GIL for 2 s: a probe or two time out, never three in a row.
    assert http_get(port, "/cpu?seconds=2", timeout=10)[1] == "cpu done"
    assert try_get(port) is not None
    assert "busy: running -> stopping" not in g.output()
    assert g.stop() == 0


def test_command_copy_over_its_memory_limit_is_replaced_alone(gaia) -> None:
    g = gaia(
        """
        [apps.hog]
        command = ["python", "-c", "import os, sys, time\\nblob = os.urandom(int(sys.argv[1]) * 2**20) if os.path.exists('grow') else b''\\nprint('copy up', os.getpid(), flush=True)\\nwhile True: time.sleep(0.1)", "150"]
        workers = 2
        memory = { worker = "100MiB", interval = "200ms", samples = 2 }
    """,
        start=False,
    )
    (g.workdir / "grow").write_text("")
    g.start()
    g.wait_for(r"hog: .*-> running")
    g.wait_for(r"recycling worker (\d+)", timeout=10)
    # The replacement copy comes up while the app stays running.
    assert "hog: running -> stopping" not in g.output()
    g.wait_for(r"hog \| copy up", timeout=10)
    assert g.stop() == 0


def test_gaia_status_and_restart(gaia) -> None:
    import subprocess
    import sys

    port, bad = free_port(), free_port()
    g = gaia(f"""
        [apps.api]
        app = "hello:app"
        bind = "127.0.0.1:{port}"

        [apps.broken]
        app = "broken:app"
        bind = "127.0.0.1:{bad}"
        max_start_failures = 1
    """)
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"broken: .*-> fatal")
    g.wait_for(r"api: starting -> running")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gaia_runner", *args, "-c", str(g.config_path)],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "COLUMNS": "160"},
        )

    shown = cli("status")
    assert shown.returncode == 0, shown.stderr
    assert "api" in shown.stdout and "running" in shown.stdout
    assert "fatal" in shown.stdout and "RuntimeError: broken fixture" in shown.stdout
    master = app_master(g.pid, "api").pid
    with SteadyLoad(port, rate=100, duration=4) as load:
        time.sleep(0.5)
        assert cli("restart", "api").returncode == 0
        g.wait_for(r"api: generation 2 serving", timeout=20)
    assert load.result.failed == 0, load.result.errors[:5]
    wait_until(lambda: app_master(g.pid, "api").pid != master, 10, "a new master")
    mark = g.mark()
    assert cli("restart", "broken").returncode == 0
    g.wait_for(r"broken: fatal -> stopped", start=mark)
    g.wait_for(r"broken: .*-> fatal", start=mark, timeout=20)
    assert cli("restart", "nope").returncode == 3  # refused: unknown app
    assert g.stop() == 0
    assert cli("status").returncode == 1


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie; one that exits between the two looks is gone."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
