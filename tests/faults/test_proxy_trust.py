"""Behind the README's nginx recipe a client cannot choose the address the app sees, a local
user who may not connect to the socket cannot either, and responses stream."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from nginx import get_via, needs_nginx, nginx_proxy, worker_account

UNIX_APP = """
    [apps.web]
    app = "hello:app"
    server = "{server}"
    bind = "unix:{socket}"
    {extra}
"""


def unix_app(gaia, socket_dir: Path, server: str, extra: str = ""):  # type: ignore[no-untyped-def]
    """gaia running one app on `socket_dir/web.sock`, serving; (gaia, socket path)."""
    sock = socket_dir / "web.sock"
    g = gaia(UNIX_APP.format(server=server, socket=sock, extra=extra))
    g.wait_for(r"web: starting -> running", timeout=30)
    return g, sock


def scope_over_unix(sock: Path, forwarded_for: str) -> str:
    """What the app sees for one request straight to its socket, as a proxy sends it."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(str(sock))
        conn.sendall(
            b"GET /scope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"X-Forwarded-Proto: https\r\nX-Forwarded-For: " + forwarded_for.encode() + b"\r\n\r\n"
        )
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[1].decode()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_a_unix_only_app_believes_only_the_entry_its_proxy_added(
    gaia, socket_dir: Path, server: str
) -> None:
    """A proxy that appends (`$proxy_add_x_forwarded_for`, Debian's proxy_params) passes on
    the client's own entries first: only the last one, the proxy's, names the client."""
    g, sock = unix_app(gaia, socket_dir, server)
    assert scope_over_unix(sock, "6.6.6.6, 127.0.0.9") == "https 127.0.0.9 ''"
    assert scope_over_unix(sock, "127.0.0.7") == "https 127.0.0.7 ''"
    assert g.stop() == 0


@needs_nginx
@pytest.mark.timeout(90)
def test_a_local_user_outside_the_sockets_group_cannot_connect_and_spoof(
    gaia, tmp_path: Path, socket_dir: Path, new_user: Callable[[], str]
) -> None:
    """The socket's mode and group are the trust boundary: nginx's group gets in, another
    local user (who could write any X-Forwarded-For) does not."""
    _, group = worker_account()
    access = f'socket_mode = "0660"\n    socket_group = "{group}"'
    g, sock = unix_app(gaia, socket_dir, "uvicorn", access)
    other = new_user()
    connect = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(sys.argv[1])\n"
        "s.sendall(b'GET /scope HTTP/1.0\\r\\nX-Forwarded-For: 6.6.6.6\\r\\n\\r\\n')\n"
        "print(s.recv(4096).decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", connect, str(sock)],
        user=other,
        group=other,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "PermissionError" in done.stderr
    with nginx_proxy(sock, tmp_path) as port:
        assert get_via(port, "/scope", {"X-Forwarded-For": "6.6.6.6"}) == (
            200,
            "https 127.0.0.2 ''",
        )
    assert g.stop() == 0


@needs_nginx
@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_through_the_readme_recipe_the_client_is_who_nginx_saw_and_responses_stream(
    gaia, tmp_path: Path, socket_dir: Path, server: str
) -> None:
    """A client's own X-Forwarded-For does not become its address. The recipe keeps nginx's
    buffering on (a slow client then holds nginx's memory, not a worker), and still the
    first chunk arrives before the app has written the second."""
    g, sock = unix_app(gaia, socket_dir, server)
    release = tmp_path / "release"
    with nginx_proxy(sock, tmp_path) as port:
        spoofed = {"X-Forwarded-For": "6.6.6.6"}
        assert get_via(port, "/scope", spoofed) == (200, "https 127.0.0.2 ''")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", f"/stream?until={release}")
            response = conn.getresponse()
            assert response.status == 200
            try:
                first = response.read1(64)
            except TimeoutError:
                pytest.fail("nginx held the first chunk back")
            assert first == b"first\n"
            release.touch()
            assert response.read() == b"second\n"
        finally:
            conn.close()
    assert g.stop() == 0
