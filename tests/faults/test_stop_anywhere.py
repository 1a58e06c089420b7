"""Stop works from every state, commands are never lost, and an app that is down for
good refuses connections. Real gaia, real servers, real signals."""

from __future__ import annotations

import signal
import socket

import psutil
import pytest
from harness import free_port, try_get, wait_until
from load import SteadyLoad
from test_up import app_master, workers_of

STOP = 3.0  # stop_timeout in these configs; gaia must be gone within STOP + 2 s


def _web(port: int, extra: str = "", server: str = "uvicorn") -> str:
    return f"""
        [gaia]
        stop_timeout = "{STOP:g}s"

        [apps.api]
        app = "hello:app"
        server = "{server}"
        bind = "127.0.0.1:{port}"
        {extra}
    """


def _stop_in_time(g) -> None:  # type: ignore[no-untyped-def]
    assert g.stop(timeout=STOP + 2) == 0
    g.wait_for(r"gaia: stopped")


def _connect_refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


STATES = {
    "prestart": ('prestart = ["sleep 60"]', r"api: stopped -> prestart"),
    "starting": (
        'health = "/missing"\nstart_timeout = "60s"',
        r"api: stopped -> starting",
    ),
    "failed": ('prestart = ["false"]\nretry_prestart = false', r"api: prestart -> failed"),
    "fatal": (
        'health = "/missing"\nstart_timeout = "1s"\nmax_start_failures = 1',
        r"api: .* -> fatal",
    ),
    "backoff": (
        'health = "/missing"\nstart_timeout = "1s"\nbackoff = { initial = "60s" }',
        r"api: .* -> backoff",
    ),
    "running": ("", r"api: starting -> running"),
}


@pytest.mark.timeout(40)
@pytest.mark.parametrize("state", sorted(STATES))
def test_sigterm_stops_from_every_state(gaia, state: str) -> None:
    extra, reached = STATES[state]
    g = gaia(_web(free_port(), extra))
    g.wait_for(reached, timeout=20)
    _stop_in_time(g)


@pytest.mark.timeout(40)
def test_sigint_stops_after_a_start_timeout(gaia) -> None:
    """The original bug: a timed-out start leaked a queue reader that ate the Stop."""
    g = gaia(
        _web(
            free_port(),
            'health = "/missing"\nstart_timeout = "1s"\nmax_start_failures = 2\nbackoff = { initial = "200ms" }',
        )
    )
    g.wait_for(r"api: .* -> fatal", timeout=20)
    g.signal(signal.SIGINT)
    assert g.wait(STOP + 2) == 0


@pytest.mark.timeout(60)
def test_an_edit_after_a_start_timeout_is_applied(gaia) -> None:
    port = free_port()
    slow = 'health = "/missing"\nstart_timeout = "1s"\nbackoff = { initial = "300ms" }'
    g = gaia(_web(port, slow))
    g.wait_for(r"api: stopping -> backoff", timeout=20)
    g.write_config(_web(port, 'health = "/healthz"'))
    g.wait_for(r"api: starting -> running", timeout=20)
    assert try_get(port) is not None
    _stop_in_time(g)


@pytest.mark.timeout(60)
def test_sigterm_mid_replace_stops_both_generations(gaia) -> None:
    port = free_port()
    g = gaia(_web(port))
    g.wait_for(r"api: starting -> running", timeout=20)
    mark = g.mark()
    g.write_config(
        _web(port, 'health = "/missing"\nstart_timeout = "60s"\nenv = { APP_VERSION = "v2" }')
    )
    g.wait_for(r"api: starting generation 2", start=mark)
    _stop_in_time(g)


@pytest.mark.timeout(60)
def test_sigterm_mid_scale(gaia) -> None:
    port = free_port()
    g = gaia(_web(port))
    g.wait_for(r"api: starting -> running", timeout=20)
    mark = g.mark()
    g.write_config(_web(port, "workers = 40"))
    g.wait_for(r"api: scaling workers 1 -> 40", start=mark)
    _stop_in_time(g)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_scale_up_and_down_keeps_the_app_supervised(gaia, server: str) -> None:
    port = free_port()
    g = gaia(_web(port, "workers = 2", server))
    g.wait_for(r"api: starting -> running", timeout=20)
    master = app_master(g.pid, "api")

    def live_workers() -> int:
        try:
            return len(workers_of(master.pid))
        except psutil.Error:  # a worker exiting mid-read
            return -1

    with SteadyLoad(port, rate=50, duration=12) as load:
        for workers in (4, 1, 3, 2):
            g.write_config(_web(port, f"workers = {workers}", server))
            wait_until(lambda n=workers: live_workers() == n, 20, f"{workers} workers")
        load.end_after(1.0)
    assert load.result.failed == 0, load.result.errors[:5]
    assert "internal error" not in g.output()
    assert "Traceback" not in g.output()
    _stop_in_time(g)


@pytest.mark.timeout(60)
def test_a_fatal_app_refuses_connections_until_it_starts_again(gaia) -> None:
    port = free_port()
    g = gaia(_web(port, 'health = "/missing"\nstart_timeout = "1s"\nmax_start_failures = 1'))
    g.wait_for(r"api: .* -> fatal", timeout=20)
    wait_until(lambda: _connect_refused(port), 5, "connections refused")
    g.write_config(_web(port, 'health = "/healthz"'))
    g.wait_for(r"api: starting -> running", timeout=20)
    assert try_get(port) is not None
    _stop_in_time(g)


@pytest.mark.timeout(40)
def test_prestart_background_children_do_not_survive(gaia) -> None:
    """The leak guard in tests/conftest.py fails this test if the `sleep` survives."""
    port = free_port()
    # A duration of this test's own: another test's `sleep 300` is none of its business.
    mine = f"300.{port}"
    g = gaia(_web(port, f'prestart = [["sh", "-c", "sleep {mine} & echo spawned"]]'))
    g.wait_for(r"api: starting -> running", timeout=20)

    def gone() -> bool:
        return not [
            p
            for p in psutil.process_iter(["cmdline", "status"])
            if p.info["cmdline"] == ["sleep", mine] and p.info["status"] != psutil.STATUS_ZOMBIE
        ]

    wait_until(gone, 10, "the prestart's background child killed with its step")
    _stop_in_time(g)


DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setpgid(0, 0)  # leaves the group, stays in the session
    time.sleep(300)
    sys.exit(0)
print("daemon forked", flush=True)
time.sleep(300)
"""


@pytest.mark.timeout(40)
def test_a_command_child_that_left_the_group_is_stopped(gaia, tmp_path) -> None:
    (tmp_path / "daemon.py").write_text(DAEMON)
    g = gaia(f"""
        [gaia]
        stop_timeout = "{STOP:g}s"

        [apps.worker]
        command = ["python", "daemon.py"]
    """)
    g.wait_for(r"daemon forked", timeout=20)
    _stop_in_time(g)


@pytest.mark.timeout(40)
def test_a_prestart_that_ignores_sigterm_gets_stop_timeout(gaia) -> None:
    g = gaia(f"""
        [gaia]
        stop_timeout = "1s"

        [apps.api]
        app = "hello:app"
        bind = "127.0.0.1:{free_port()}"
        prestart = [["sh", "-c", "trap '' TERM; sleep 60"]]
        prestart_timeout = "1s"
        retry_prestart = false
    """)
    g.wait_for(r"api: stopped -> prestart", timeout=20)
    # 1 s budget + 1 s stop_timeout; it used to be a fixed 5 s after the budget.
    g.wait_for(r"api: prestart -> failed: .*timed out", timeout=4.5)
    assert g.stop(timeout=5) == 0
