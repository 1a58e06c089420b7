"""A connection a stopping worker accepted before its request arrived (a proxy's request
delayed under load) is answered, not closed unread: through nginx without upstream
keepalive, that close is "upstream prematurely closed connection", a 502."""

from __future__ import annotations

import signal
import socket
import time

import pytest
from harness import free_port, try_get, wait_until

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def _config(port: int, server: str, version: str) -> str:
    return f"""
        [apps.api]
        app = "hello:app"
        server = "{server}"
        bind = "127.0.0.1:{port}"
        env = {{ VERSION = "{version}" }}
    """


def _response(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
def test_a_request_arriving_late_on_a_draining_worker_is_answered(gaia, server: str) -> None:
    port = free_port()
    g = gaia(_config(port, server, "1"), "--no-watch")
    wait_until(lambda: try_get(port), 30, "first answer")
    g.wait_for(r"api: starting -> running", timeout=30)
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        # Accepted by a worker of generation 1, which is then replaced while no request
        # has come on the connection yet.
        g.config_path.write_text(_config(port, server, "2"))
        mark = g.mark()
        g.signal(signal.SIGHUP)
        g.wait_for(r"api: generation 2 serving", start=mark, timeout=30)
        # The instant under test: well past the 0.3 s a stopping worker always waited.
        time.sleep(1.0)
        conn.sendall(REQUEST)
        answer = _response(conn)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert g.stop() == 0
