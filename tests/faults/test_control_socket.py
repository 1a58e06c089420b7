"""Whatever arrives on state_dir/gaia.sock, gaia answers or closes, logs one line, runs on."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from harness import run_cli

pytestmark = pytest.mark.timeout(90)

BAD_REQUESTS = [
    b"garbage\n",
    b"\xff\xfe\x00\x01\n",
    b"[1, 2, 3]\n",
    b'"status"\n',
    b"null\n",
    b'{"command": 5}\n',
    b'{"no": "command"}\n',
    b'{"command": "restart", "apps": 5}\n',
    b'{"command": "restart", "apps": [[1], {"a": 2}]}\n',
    b'{"command": "restart", "apps": "idle"}\n',
    b"x" * (1024 * 1024) + b"\n",
    b"[" * 60_000 + b"\n",  # within the size limit, past the JSON decoder's recursion
]


def exchange(path: Path, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # gaia answered a huge request and closed before reading all of it
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        return data


def test_malformed_requests_get_an_error_and_gaia_keeps_running(gaia, tmp_path: Path) -> None:
    state = tmp_path / "state"
    g = gaia(
        f"""
        [gaia]
        state_dir = "{state}"

        [apps.idle]
        command = ["python", "-c", "import time; time.sleep(120)"]
        """,
        "--no-watch",
    )
    g.wait_for(r"idle: .*-> running", timeout=30)
    path = state / "gaia.sock"
    mark = g.mark()
    for payload in BAD_REQUESTS:
        answer = exchange(path, payload)
        if answer:
            assert "error" in json.loads(answer), (payload[:40], answer)
    assert exchange(path, b"") == b""  # connect and leave: nothing to answer
    for n in range(len(BAD_REQUESTS)):
        g.wait_for(r"gaia: control: ", timeout=10, start=mark + n)
    logged = [line for line in g.lines[mark:] if "gaia: control: " in line]
    assert len(logged) == len(BAD_REQUESTS), logged
    assert "Traceback" not in g.output()
    assert g.proc is not None and g.proc.poll() is None
    done = run_cli("status", "-c", str(g.config_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "idle" in done.stdout
    assert g.stop() == 0
    assert "Traceback" not in g.output()
