"""Stopping the way service managers expect, and health checks that explain themselves."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from harness import free_port, run_cli, try_get, wait_until


@pytest.mark.timeout(40)
def test_a_second_ctrl_c_forces_the_stop(gaia) -> None:
    g = gaia("""
        [gaia]
        stop_timeout = "60s"

        [apps.stubborn]
        command = ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"]
    """)
    g.wait_for(r"stubborn: starting -> running", timeout=20)
    g.signal(signal.SIGINT)
    g.wait_for(r"stopping gracefully \(Ctrl-C again to force\)")
    g.signal(signal.SIGINT)
    assert g.wait(5) == 130
    assert "forced stop" in g.output()


@pytest.mark.timeout(40)
def test_a_failed_health_start_says_what_the_probe_got(gaia) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.api]
        app = "hello:app"
        server = "uvicorn"
        bind = "127.0.0.1:{port}"
        health = "/missing"
        start_timeout = "3s"
        max_start_failures = 1
        access_log = true
    """)
    g.wait_for(r"api: .* -> fatal: .*GET /missing answered 404", timeout=20)
    # Probes back off while starting: 3 s of "not healthy" is a handful of requests,
    # not ~60 access-log lines.
    probes = [line for line in g.lines if "GET /missing" in line and "api |" in line]
    assert 1 <= len(probes) <= 12, probes
    assert g.stop() == 0


@pytest.mark.timeout(60)
def test_init_writes_a_health_check_only_for_the_app_it_writes(tmp_path: Path, gaia) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert run_cli("init", cwd=fresh).returncode == 0
    text = (fresh / "gaia.toml").read_text()
    assert 'health = "/healthz"' in text
    assert (fresh / "main.py").exists()

    own = tmp_path / "own"
    own.mkdir()
    (own / "main.py").write_text("app = None\n")
    assert run_cli("init", cwd=own).returncode == 0
    assert "health" not in (own / "gaia.toml").read_text().split("[apps.web]")[1]
    assert (own / "main.py").read_text() == "app = None\n"

    # The written pair really runs: the starter app becomes RUNNING on its health path.
    port = free_port()
    config = text.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace(
        "workers = 2", "workers = 1"
    )
    (tmp_path / "main.py").write_text((fresh / "main.py").read_text())
    g = gaia(config)
    wait_until(lambda: try_get(port), 30, "the starter app serving")
    g.wait_for(r"web: starting -> running")
    assert g.stop() == 0


@pytest.mark.timeout(40)
def test_a_second_ctrl_c_reaches_a_prestart_step_deaf_to_sigterm(gaia) -> None:
    g = gaia(f"""
        [gaia]
        stop_timeout = "30s"

        [apps.api]
        app = "hello:app"
        bind = "127.0.0.1:{free_port()}"
        prestart = [["sh", "-c", "trap '' TERM; echo migrating; while true; do sleep 1; done"]]
    """)
    g.wait_for(r"migrating", timeout=20)
    g.signal(signal.SIGINT)
    g.wait_for(r"stopping gracefully \(Ctrl-C again to force\)")
    g.signal(signal.SIGINT)
    assert g.wait(5) == 130
