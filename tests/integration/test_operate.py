"""Operating a running gaia from another shell: status, stop/start, scale, restart,
reload, logs, up -d / down. Every command is run as the real CLI against a real gaia,
also while gaia.toml on disk is invalid and while an app is FATAL."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from harness import (
    FAST_TIMINGS,
    FIXTURES,
    Gaia,
    free_port,
    http_get,
    run_cli,
    try_get,
    wait_until,
)

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ")


CRASH_PORT = free_port()


def two_apps(port: int, extra: str = "") -> str:
    """web serves; crash is FATAL after its first failed start (gunicorn halts at once on
    an import error, where uvicorn's supervisor would respawn it and stop slowly)."""
    return f"""
        [apps.web]
        app = "hello:app"
        server = "uvicorn"
        bind = "127.0.0.1:{port}"
        {extra}

        [apps.crash]
        app = "broken:app"
        bind = "127.0.0.1:{CRASH_PORT}"
        max_start_failures = 1
        """


def cli(workdir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, "-c", str(workdir / "gaia.toml"), cwd=workdir, timeout=timeout)


def status_json(workdir: Path) -> dict[str, Any]:
    done = cli(workdir, "status", "--json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def app_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in document["apps"] if a["name"] == name)
    return found


def state_of(workdir: Path, name: str) -> str:
    """ "" until gaia answers: for waiting on, right after it was started."""
    done = cli(workdir, "status", "--json")
    if done.returncode != 0:
        return ""
    return str(app_of(json.loads(done.stdout), name)["state"])


@pytest.mark.timeout(150)
def test_operate_while_the_file_is_invalid_and_an_app_is_fatal(gaia, tmp_path: Path) -> None:
    port = free_port()
    g = gaia(two_apps(port))
    wait_until(lambda: state_of(tmp_path, "web") == "running", 30, "web running")
    wait_until(lambda: state_of(tmp_path, "crash") == "fatal", 30, "crash fatal")

    document = status_json(tmp_path)
    assert document["schema"] == 1
    assert document["config"] == {"path": str(g.config_path), "applied": True, "error": None}
    web = app_of(document, "web")
    assert web["workers"] == {"live": 1, "desired": 1, "in_file": 1}
    assert web["urls"] == [f"http://127.0.0.1:{port}"]
    assert web["generation"] == 1 and web["pid"] and len(web["worker_pids"]) == 1
    for key in ("memory", "cpu_percent", "restarts", "last_restart_reason", "uptime_seconds"):
        assert key in web

    # The file on disk goes bad: every command still works and says so.
    mark = g.mark()
    g.config_path.write_text("[apps.web\nbroken = \n")
    g.wait_for(r"not applied", start=mark, timeout=15)
    reload = cli(tmp_path, "reload")
    assert reload.returncode == 2, reload
    assert "not applied" in reload.stderr and "invalid TOML" in reload.stderr
    table = cli(tmp_path, "status")
    assert table.returncode == 0, table.stderr
    assert "NOT applied" in table.stdout and "invalid TOML" in table.stdout
    # Piped: every column, no colour codes, the FATAL app's reason.
    for header in ("app", "server", "state", "pid", "workers", "url", "memory", "cpu", "uptime"):
        assert header in table.stdout
    assert "\x1b[" not in table.stdout
    assert "crash fatal" in table.stdout
    assert status_json(tmp_path)["config"]["applied"] is False
    only = json.loads(cli(tmp_path, "status", "web", "--json").stdout)
    assert [a["name"] for a in only["apps"]] == ["web"]

    # stop: stays stopped, also across a reload of a (again valid) file.
    stopped = cli(tmp_path, "stop", "web")
    assert stopped.returncode == 0, stopped.stderr
    assert try_get(port) is None
    assert "stopped (by request)" in cli(tmp_path, "status").stdout
    g.write_config(two_apps(port, extra='env = { APP_VERSION = "v2" }'))
    reloaded = cli(tmp_path, "reload")
    assert reloaded.returncode == 0, reloaded.stderr
    assert reloaded.stdout.startswith("applied: ")
    assert app_of(status_json(tmp_path), "web")["stopped_by_request"] is True
    assert try_get(port) is None
    started = cli(tmp_path, "start", "web")
    assert started.returncode == 0, started.stderr
    wait_until(lambda: try_get(port), 20, "web serving again")
    assert http_get(port)[1].startswith("hello v2")  # the file applied while it was stopped

    # scale: in place, shown as a difference from the file; no traceback anywhere.
    scaled = cli(tmp_path, "scale", "web", "2")
    assert scaled.returncode == 0, scaled.stderr
    assert "gaia.toml says 1" in scaled.stdout
    wait_until(
        lambda: (
            app_of(status_json(tmp_path), "web")["workers"]
            == {
                "live": 2,
                "desired": 2,
                "in_file": 1,
            }
        ),
        20,
        "two workers",
    )
    assert "2 workers set by `gaia scale` (gaia.toml says 1)" in cli(tmp_path, "status").stdout

    # restart a FATAL app, skipping prestart; unknown names are refused with exit 3.
    mark = g.mark()
    restarted = cli(tmp_path, "restart", "crash", "--skip-prestart")
    assert restarted.returncode == 0, restarted.stderr
    g.wait_for(r"crash: fatal -> stopped", start=mark, timeout=15)
    g.wait_for(r"crash: .*-> fatal", start=mark, timeout=30)
    unknown = cli(tmp_path, "stop", "nosuch")
    assert unknown.returncode == 3 and "no app named nosuch" in unknown.stderr

    # logs: merged, prefixed; timestamps on request; gaia's own events in gaia.log.
    logs = cli(tmp_path, "logs", "-n", "200")
    assert logs.returncode == 0, logs.stderr
    assert re.search(r"^web\s+\| ", logs.stdout, re.M)
    assert re.search(r"^gaia\s+\| .*stop requested for web", logs.stdout, re.M)
    stamped = cli(tmp_path, "logs", "web", "-n", "5", "--timestamps").stdout.splitlines()
    assert stamped and all(STAMP.match(line) for line in stamped), stamped
    log_dir = tmp_path / ".gaia" / "logs"
    for name in ("web.log", "gaia.log", "crash.log"):
        lines = (log_dir / name).read_text().splitlines()
        assert lines and all(STAMP.match(line) for line in lines), name
    web_log = (log_dir / "web.log").read_text()
    assert "Traceback" not in web_log
    assert g.stop() == 0


@pytest.mark.timeout(90)
def test_a_refused_replace_stays_visible_in_status(gaia, tmp_path: Path) -> None:
    port = free_port()
    g = gaia(two_apps(port))
    wait_until(lambda: state_of(tmp_path, "web") == "running", 30, "web running")
    wait_until(lambda: state_of(tmp_path, "crash") == "fatal", 30, "crash fatal")
    follower = subprocess.Popen(
        [sys.executable, "-m", "gaia_runner", "logs", "-f", "-n", "1", "-c", str(g.config_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(FIXTURES)},
    )
    seen: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [seen.put(line) for line in follower.stdout], daemon=True
    ).start()  # type: ignore[union-attr]
    try:
        seen.get(timeout=20)  # the one recent line: it follows from here on
        bad = 'prestart = [["python", "-c", "raise SystemExit(5)"]]'
        g.write_config(two_apps(port, extra=bad))
        reload = cli(tmp_path, "reload")
        assert reload.returncode == 0, reload.stderr
        assert "web: replace (prestart changed)" in reload.stdout
        # `gaia logs -f` shows gaia's events and the app's prestart output as they happen.
        wanted = {r"^gaia\s+\| gaia: reload plan", r"^web\s+\| \[prestart\] \$ python -c"}
        deadline = time.monotonic() + 20
        while wanted and time.monotonic() < deadline:
            try:
                line = seen.get(timeout=0.5)
            except queue.Empty:
                continue
            wanted = {w for w in wanted if not re.search(w, line)}
        assert not wanted, f"not followed: {wanted}"
    finally:
        follower.terminate()
        follower.wait(10)
        if follower.stdout is not None:
            follower.stdout.close()
    wait_until(lambda: app_of(status_json(tmp_path), "web")["last_rejected_replace"], 30, "refusal")
    refused = app_of(status_json(tmp_path), "web")["last_rejected_replace"]
    assert "still serving the previous version (generation 1)" in refused
    assert "last replace refused" in cli(tmp_path, "status").stdout
    assert g.stop() == 0


def _kill_detached(state_dir: Path) -> None:
    """Cleanup for a test that failed before `gaia down` did its job."""
    try:
        pid = int((state_dir / "gaia.pid").read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
        psutil.Process(pid).wait(30)
    except (OSError, ValueError, IndexError, psutil.Error):
        pass


@pytest.mark.timeout(90)
def test_up_detached_returns_with_the_table_and_down_leaves_nothing(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "gaia.toml"
    config.write_text(
        f'[apps.web]\napp = "hello:app"\nserver = "uvicorn"\nbind = "127.0.0.1:{port}"\n'
        "workers = 2\n"
    )
    try:
        # The default sampling interval: the table must not be printed before the first sample.
        slow = {**FAST_TIMINGS, "GAIA_SAMPLE_INTERVAL": "1"}
        up = run_cli("up", "-d", "-c", str(config), cwd=tmp_path, env=slow, timeout=60)
        assert up.returncode == 0, up.stderr
        # A true row: the workers counted and the memory measured (it said 0/2 and -).
        assert re.search(r"web\s+running\s+2/2\s.*\s\d+(\.\d)?MiB\s", up.stdout), up.stdout
        assert "gaia runs in the background" in up.stdout
        assert http_get(port)[0] == 200  # returned only once serving
        again = run_cli("up", "-d", "-c", str(config), cwd=tmp_path, timeout=30)
        assert again.returncode == 2 and "already running" in again.stderr
        down = cli(tmp_path, "down")
        assert down.returncode == 0, down.stderr
        assert try_get(port) is None
    finally:
        _kill_detached(tmp_path / ".gaia")
    after = cli(tmp_path, "status")
    assert after.returncode == 1 and "no gaia running for this config" in after.stderr


@pytest.mark.timeout(60)
def test_up_detached_with_a_failing_app_exits_4(tmp_path: Path) -> None:
    config = tmp_path / "gaia.toml"
    config.write_text(
        f'[apps.crash]\napp = "broken:app"\nbind = "127.0.0.1:{free_port()}"\n'
        "max_start_failures = 1\n"
    )
    try:
        up = run_cli("up", "-d", "-c", str(config), cwd=tmp_path, env=FAST_TIMINGS, timeout=60)
        assert up.returncode == 4, up
        assert "crash fatal" in up.stdout
    finally:
        assert cli(tmp_path, "down").returncode == 0
        _kill_detached(tmp_path / ".gaia")


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "args",
    [("status",), ("stop", "web"), ("start",), ("scale", "web", "2"), ("reload",), ("down",)],
)
def test_no_running_gaia_is_exit_1_even_with_an_invalid_file(tmp_path: Path, args) -> None:
    (tmp_path / "gaia.toml").write_text('[gaia]\nstate_dir = "state"\n[apps.web\n')
    (tmp_path / "state").mkdir(mode=0o700)
    done = cli(tmp_path, *args)
    assert done.returncode == 1, done
    assert "no gaia running for this config" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(30)
def test_state_dir_is_found_in_an_invalid_file(gaia, tmp_path: Path) -> None:
    """A custom state_dir is read from a file that no longer parses."""
    port = free_port()
    g = gaia('[gaia]\nstate_dir = "elsewhere"\n' + two_apps(port).replace("        ", ""))
    wait_until(lambda: state_of(tmp_path, "web") == "running", 30, "web running")
    wait_until(lambda: state_of(tmp_path, "crash") == "fatal", 30, "crash fatal")
    assert (tmp_path / "elsewhere" / "gaia.pid").exists()
    g.config_path.write_text('[gaia]\nstate_dir = "elsewhere"\n[apps.web\n')
    assert cli(tmp_path, "status").returncode == 0
    assert g.stop() == 0


@pytest.mark.timeout(90)
def test_a_sync_app_scaled_and_replaced_logs_no_traceback_and_no_private_address(
    gaia, tmp_path: Path
) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.wsgi]
        app = "wsgi_hello:application"
        worker_class = "sync"
        bind = "127.0.0.1:{port}"
        """)
    wait_until(lambda: state_of(tmp_path, "wsgi") == "running", 30, "wsgi running")
    assert cli(tmp_path, "scale", "wsgi", "2").returncode == 0
    wait_until(
        lambda: app_of(status_json(tmp_path), "wsgi")["workers"]["live"] == 2, 20, "2 workers"
    )
    assert cli(tmp_path, "restart", "wsgi").returncode == 0
    wait_until(lambda: app_of(status_json(tmp_path), "wsgi")["generation"] == 2, 30, "gen 2")
    log = (tmp_path / ".gaia" / "logs" / "wsgi.log").read_text()
    assert "Traceback" not in log
    listening = [line for line in log.splitlines() if "Listening at:" in line]
    assert len(listening) == 2, log  # one per generation
    for line in listening:
        assert f"Listening at: http://127.0.0.1:{port} (" in line
        assert line.endswith("(+ gaia's private probe listener)")
    assert g.stop() == 0


@pytest.mark.timeout(120)
def test_status_json_keeps_config_order_and_has_the_request_columns(
    gaia: Callable[..., Gaia], tmp_path: Path
) -> None:
    ports = {"first": free_port(), "second": free_port()}
    g = gaia(
        "".join(
            f'[apps.{name}]\napp = "hello:app"\nserver = "uvicorn"\nbind = "127.0.0.1:{port}"\n'
            for name, port in ports.items()
        )
    )
    wait_until(lambda: state_of(tmp_path, "first") == "running", 60, "first running")
    wait_until(lambda: state_of(tmp_path, "second") == "running", 60, "second running")
    assert cli(tmp_path, "stop", "first").returncode == 0
    assert cli(tmp_path, "start", "first").returncode == 0
    wait_until(lambda: state_of(tmp_path, "first") == "running", 60, "first running again")
    assert [app["name"] for app in status_json(tmp_path)["apps"]] == ["first", "second"]
    for _ in range(5):
        assert http_get(ports["first"])[0] == 200

    def measured() -> dict[str, Any] | None:
        found: dict[str, Any] | None = app_of(status_json(tmp_path), "first")["requests"]
        return found if found and found["per_second"] > 0 else None

    requests = wait_until(measured, 30, "first's requests in the JSON")
    assert isinstance(requests, dict)
    assert requests["p99_seconds"] is not None and requests["errors_5xx_share"] == 0
    assert requests["window_seconds"] == 10.0
    assert g.stop() == 0
