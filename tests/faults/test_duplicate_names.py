"""App names in one command are a set: `gaia start web web` is `gaia start web`, from the
CLI or from any client of the control socket."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import psutil
import pytest
from harness import Gaia, free_port, run_cli, try_get, wait_until

pytestmark = pytest.mark.timeout(120)


def ask(path: Path, message: dict[str, object]) -> dict[str, object]:
    """A client that does not deduplicate, as the CLI does."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answer: dict[str, object] = json.loads(data)
    # Every answer also names the protocol and gaia's version; the rest is the request's.
    return {k: v for k, v in answer.items() if k not in ("protocol", "gaia")}


def trees(g: Gaia) -> int:
    return len(psutil.Process(g.pid).children())


def test_repeated_names_act_once(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state = tmp_path / "state"
    port = free_port()
    g: Gaia = gaia(
        f"""
        [gaia]
        state_dir = "{state}"

        [apps.web]
        app = "hello:app"
        server = "uvicorn"
        bind = "127.0.0.1:{port}"

        [apps.idle]
        command = ["python", "-c", "import time; time.sleep(120)"]
        """,
        "--no-watch",
    )
    g.wait_for(r"web: starting -> running", timeout=30)
    g.wait_for(r"idle: starting -> running", timeout=30)
    wait_until(lambda: try_get(port) is not None, 15, "web to answer")
    cli = ("-c", str(g.config_path))

    def run(*args: str) -> str:
        done = run_cli(*args, *cli, cwd=tmp_path, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "stopped (by request): web\n" in run("stop", "web", "web")
    wait_until(lambda: try_get(port) is None, 15, "web to stop answering")
    mark = g.mark()
    assert "started: web\n" in run("start", "web", "web")
    g.wait_for(r"web: starting -> running", timeout=30, start=mark)
    wait_until(lambda: try_get(port) is not None, 15, "web to answer again")
    assert trees(g) == 2  # idle and one web, not two
    assert "restart requested: web\n" in run("restart", "web", "web")

    # A client that sends duplicates itself gets the same answer.
    control = state / "gaia.sock"
    assert ask(control, {"command": "stop", "apps": ["web", "web"]}) == {"stopped": ["web"]}
    started = ask(control, {"command": "start", "apps": ["web", "web"]})
    assert started == {"started": ["web"], "already_running": []}
    scaled = ask(control, {"command": "scale", "apps": ["idle", "idle"], "workers": 2})
    assert scaled.get("workers") == 2, scaled
    wait_until(lambda: trees(g) == 3, 30, "web and two copies of idle")
    assert ask(control, {"command": "stop", "apps": ["web", "web"]}) == {"stopped": ["web"]}
    wait_until(lambda: try_get(port) is None, 15, "web to stop answering")
    wait_until(lambda: trees(g) == 2, 30, "only idle's two copies")

    assert "internal error" not in g.output()
    assert g.stop() == 0
