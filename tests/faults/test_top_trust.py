"""Who may attach `gaia top`: exactly who may use the control socket, its owner. Another
user (here with a way into the config's directory) neither gets a view nor reaches the
socket's change stream directly."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import FIXTURES, free_port, run_cli

SUBSCRIBE = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    s.sendall(b'{"command": "subscribe", "protocol": 2}\\n')
    print("got", s.recv(100))
except OSError as exc:
    print("refused", exc.errno)
"""


def _as(user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        user=user,
        group=user,
        extra_groups=[],
        cwd=FIXTURES,
        env={"PYTHONPATH": str(FIXTURES), "TERM": "xterm"},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.timeout(180)
def test_another_user_can_neither_attach_top_nor_subscribe(
    new_user: Callable[[], str], open_dir: Path
) -> None:
    config = open_dir / "gaia.toml"
    config.write_text(
        f'[apps.web]\napp = "hello:app"\nserver = "uvicorn"\nbind = "127.0.0.1:{free_port()}"\n'
    )
    other = new_user()
    try:
        up = run_cli("up", "-d", "-c", str(config), cwd=open_dir, timeout=90)
        assert up.returncode == 0, up.stdout + up.stderr
        top = _as(other, "-m", "gaia_runner", "top", "-c", str(config))
        assert top.returncode != 0
        assert "Traceback" not in top.stderr and "web" not in top.stdout, top
        direct = _as(other, "-c", SUBSCRIBE, str(open_dir / ".gaia" / "gaia.sock"))
        assert direct.stdout.split()[:1] == ["refused"], direct
    finally:
        run_cli("down", "-c", str(config), cwd=open_dir, timeout=90)
