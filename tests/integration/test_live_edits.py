"""Edits that apply without a new tree: in place in the supervisor, or new workers under
the same master. None of them runs prestart, and no request fails meanwhile."""

from __future__ import annotations

import shutil
from pathlib import Path

import psutil
import pytest
from harness import free_port, make_self_signed, try_get, wait_until
from load import SteadyLoad
from test_reload import _served_cn, save_atomically
from test_up import app_master, workers_of

APP = """
    [gaia]
    stop_timeout = "10s"

    [apps.api]
    app = "hello:app"
    server = "{server}"
    workers = 2
    bind = "127.0.0.1:{port}"
    prestart = [["sh", "-c", "echo ran >> {ran}"]]
    {extra}
"""

# Each edit alone used to replace the whole tree and run prestart again.
EDITS = [
    ("memory", 'memory = { worker = "1GiB", interval = "0.5s" }'),
    ("health", 'memory = { worker = "1GiB", interval = "0.5s" }\n    health = "/"'),
    ("backoff", 'memory = { worker = "1GiB", interval = "0.5s" }\n    health = "/"\n'
     '    backoff = { initial = "2s" }'),
    ("start_timeout, restart, max_start_failures",
     'memory = { worker = "1GiB", interval = "0.5s" }\n    health = "/"\n'
     '    backoff = { initial = "2s" }\n    restart = "on-failure"\n'
     '    max_start_failures = 9\n    start_timeout = "90s"'),
]  # fmt: skip


def _pids(gaia_pid: int) -> tuple[int, set[int]]:
    """The master and its workers; a worker exiting while it is listed is left out."""
    master = app_master(gaia_pid, "api")
    while True:
        try:
            return master.pid, {w.pid for w in workers_of(master.pid)}
        except psutil.ZombieProcess:
            continue


def _prestart_runs(ran: Path) -> int:
    return len(ran.read_text().splitlines()) if ran.exists() else 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_supervisor_settings_apply_in_place_under_load(gaia, tmp_path: Path, server: str) -> None:
    port, ran = free_port(), tmp_path / "prestart.ran"
    g = gaia(APP.format(server=server, port=port, ran=ran, extra=""))
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"api: starting -> running")
    wait_until(lambda: len(_pids(g.pid)[1]) == 2, 15, "2 workers")
    before = _pids(g.pid)
    assert _prestart_runs(ran) == 1
    with SteadyLoad(port, rate=150, duration=8) as load:
        for keys, extra in EDITS:
            mark = g.mark()
            save_atomically(
                g.config_path, APP.format(server=server, port=port, ran=ran, extra=extra)
            )
            g.wait_for(rf"reload plan: api: in place \({keys} changed\)", start=mark, timeout=15)
        load.end_after(1.0)
    assert load.result.failed == 0, load.result.errors[:5]
    assert _pids(g.pid) == before, "no process may be replaced by an in-place edit"
    assert _prestart_runs(ran) == 1
    assert "generation 2" not in "\n".join(g.lines)
    assert g.stop() == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_a_renewed_certificate_rolls_the_workers_without_prestart(
    gaia, tmp_path: Path, server: str
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    make_self_signed(tmp_path, "first")
    port, ran = free_port(), tmp_path / "prestart.ran"
    https = 'https = { certfile = "cert.pem", keyfile = "key.pem" }'
    g = gaia(APP.format(server=server, port=port, ran=ran, extra=https))
    wait_until(lambda: _served_cn(port) == "first", 20, "the first certificate")
    g.wait_for(r"api: starting -> running")
    wait_until(lambda: len(_pids(g.pid)[1]) == 2, 15, "2 workers")
    master, workers = _pids(g.pid)
    mark = g.mark()
    make_self_signed(tmp_path, "renewed")
    g.wait_for(r"reload plan: api: roll workers \(TLS files changed\)", start=mark, timeout=15)
    wait_until(lambda: _served_cn(port) == "renewed", 20, "the renewed certificate")

    def rolled() -> bool:
        now_master, now = _pids(g.pid)
        return now_master == master and len(now) == 2 and not now & workers

    wait_until(rolled, 20, "two new workers under the same master")
    assert _prestart_runs(ran) == 1
    assert g.stop() == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_what_the_server_reads_rolls_without_prestart_under_load(
    gaia, tmp_path: Path, server: str
) -> None:
    port, ran = free_port(), tmp_path / "prestart.ran"
    g = gaia(APP.format(server=server, port=port, ran=ran, extra=""))
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"api: starting -> running")
    wait_until(lambda: len(_pids(g.pid)[1]) == 2, 15, "2 workers")
    master, workers = _pids(g.pid)
    edited = APP.format(server=server, port=port, ran=ran, extra='timeout = "20s"')
    with SteadyLoad(port, rate=150, duration=6) as load:
        mark = g.mark()
        save_atomically(g.config_path, edited)
        g.wait_for(r"reload plan: api: roll workers \(timeout changed\)", start=mark, timeout=15)
        if server == "gunicorn":  # it re-reads its config file on HUP: same master
            g.wait_for(r"api: rolling the workers", start=mark, timeout=15)

            def rolled() -> bool:
                now_master, now = _pids(g.pid)
                return now_master == master and len(now) == 2 and not now & workers

            wait_until(rolled, 20, "two new workers under the same master")
            conf = next((tmp_path / ".gaia" / "run").glob("api.g1.gunicorn.py")).read_text()
            assert "timeout = 20" in conf.replace("'", "").replace('"', "")
        else:  # uvicorn's HUP re-reads no option: a new generation, still no prestart
            g.wait_for(r"api: generation 2 serving", start=mark, timeout=30)
    assert load.result.failed == 0, load.result.errors[:5]
    assert _prestart_runs(ran) == 1
    assert g.stop() == 0
