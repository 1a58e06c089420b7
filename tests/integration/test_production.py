"""The standard production setup, with real servers: behind nginx on a unix socket, proxy
headers, server option tables, factories with arguments, and apps run as another user."""

from __future__ import annotations

import grp
import http.client
import os
import pwd
import socket
import stat
import time
from pathlib import Path

import psutil
import pytest
from harness import FIXTURES, free_port, http_get, try_get, wait_until
from load import SteadyLoad
from nginx import get_via, needs_nginx, nginx_proxy, worker_account
from test_reload import save_atomically
from test_up import app_master, workers_of

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
SERVERS = ["gunicorn", "uvicorn"]

UNIX_APP = """
    [gaia]
    stop_timeout = "10s"

    [apps.web]
    app = "hello:app"
    server = "{server}"
    workers = {workers}
    bind = "unix:{socket}"
    env = {{ APP_VERSION = "{version}" }}
    {extra}
"""


@needs_nginx
@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", SERVERS)
def test_behind_nginx_first_try_with_forwarded_headers(
    gaia, tmp_path: Path, socket_dir: Path, server: str
) -> None:
    """Defaults only: nginx's unprivileged worker can connect (socket 0666), and the app
    trusts the proxy on its unix socket: scheme https and the client's own address."""
    sock = socket_dir / "web.sock"
    g = gaia(UNIX_APP.format(server=server, workers=1, socket=sock, version="v1", extra=""))
    g.wait_for(r"web: starting -> running", timeout=30)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o666
    with nginx_proxy(sock, tmp_path) as port:
        assert get_via(port) == (200, f"hello v1 {workers_of(app_master(g.pid, 'web').pid)[0].pid}")
        status, body = get_via(port, "/scope")
        assert (status, body) == (200, "https 127.0.0.2 ''")
    assert g.stop() == 0


@needs_nginx
@pytest.mark.timeout(120)
def test_edit_and_scale_under_load_through_nginx(gaia, tmp_path: Path, socket_dir: Path) -> None:
    """socket_mode/socket_group hold across a replacement; nothing fails through nginx."""
    _, group = worker_account()
    sock = socket_dir / "web.sock"
    access = f'socket_mode = "0660"\n    socket_group = "{group}"'

    def text(version: str, workers: int) -> str:
        return UNIX_APP.format(
            server="gunicorn", workers=workers, socket=sock, version=version, extra=access
        )

    g = gaia(text("v1", 2))
    g.wait_for(r"web: starting -> running", timeout=30)
    with nginx_proxy(sock, tmp_path) as port:
        assert http_get(port)[0] == 200
        with SteadyLoad(port, rate=150, duration=9) as load:
            time.sleep(1)
            save_atomically(g.config_path, text("v2", 2))
            g.wait_for(r"web: generation 2 serving", timeout=30)
            save_atomically(g.config_path, text("v2", 3))
            g.wait_for(r"reload plan: web: scale 2->3")
            wait_until(lambda: worker_count(g.pid) == 3, 15, "3 workers")
            load.end_after(1.0)
        assert load.result.failed == 0, load.result.errors[:5]
        assert any(body.startswith("hello v2") for body in load.result.bodies)
        info = sock.stat()
        assert stat.S_IMODE(info.st_mode) == 0o660
        assert info.st_gid == grp.getgrnam(group).gr_gid
    assert g.stop() == 0


def worker_count(gaia_pid: int) -> int:
    try:
        return len(workers_of(app_master(gaia_pid, "web").pid))
    except psutil.Error:  # a worker that exited between the listing and the look
        return 0


TCP_APP = """
    [apps.web]
    app = "{target}"
    server = "{server}"
    bind = "127.0.0.1:{port}"
    {extra}
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("server", SERVERS)
def test_factory_with_arguments(gaia, server: str) -> None:
    port = free_port()
    target = "hello:create_app('prod', greeting='hi')"
    gaia(TCP_APP.format(target=target, server=server, port=port, extra=""))
    wait_until(lambda: try_get(port), 30, "first answer")
    assert http_get(port) == (200, "hi from factory prod")


@pytest.mark.timeout(60)
def test_gunicorn_table_reaches_gunicorn(gaia) -> None:
    """limit_request_line is enforced by gunicorn's own parser (sync workers)."""
    port = free_port()
    extra = 'worker_class = "sync"\n    [apps.web.gunicorn]\n    limit_request_line = 64'
    gaia(TCP_APP.format(target="wsgi_hello:application", server="gunicorn", port=port, extra=extra))
    wait_until(lambda: try_get(port), 30, "first answer")
    assert http_get(port)[0] == 200
    assert http_get(port, "/" + "a" * 200)[0] == 414  # URI too long; the default is 4094


@pytest.mark.timeout(60)
def test_uvicorn_table_reaches_uvicorn(gaia) -> None:
    port = free_port()
    extra = (
        '[apps.web.uvicorn]\n    root_path = "/api"\n    headers = [["x-served-by", "gaia-test"]]'
    )
    gaia(TCP_APP.format(target="hello:app", server="uvicorn", port=port, extra=extra))
    wait_until(lambda: try_get(port), 30, "first answer")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/scope")
        response = conn.getresponse()
        assert response.read().decode() == "http 127.0.0.1 '/api'"
        assert response.getheader("x-served-by") == "gaia-test"
    finally:
        conn.close()


def _free_privileged_port() -> int:
    for port in range(81, 1000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port below 1024 on 127.0.0.1")


@needs_root
@pytest.mark.timeout(60)
@pytest.mark.parametrize("server", SERVERS)
def test_app_runs_as_user_on_a_privileged_port(gaia, app_user: str, server: str) -> None:
    """gaia binds port < 1024 as root; every app process runs as the user, whose groups
    are set, and reads its generated config through an fd (the state dir stays 0700)."""
    port = _free_privileged_port()
    extra = f'user = "{app_user}"\n    cwd = "{FIXTURES}"'
    g = gaia(TCP_APP.format(target="hello:app", server=server, port=port, extra=extra))
    g.wait_for(r"web: starting -> running", timeout=30)
    uid = pwd.getpwnam(app_user).pw_uid
    status, body = http_get(port, "/pid")
    assert status == 200
    worker = psutil.Process(int(body))
    master = app_master(g.pid, "web")
    for proc in (master, worker):
        assert proc.uids().real == proc.uids().effective == uid
        assert proc.environ()["HOME"] == pwd.getpwnam(app_user).pw_dir
    state = g.workdir / ".gaia"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "run").stat().st_mode) == 0o700
    assert g.stop() == 0
