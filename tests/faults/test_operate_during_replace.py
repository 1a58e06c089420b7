"""Issue 19.4: `gaia restart` or `gaia scale` within a second of a saved edit, while the
edit's replace is under way, acts on the edited config: the app never ends on the old
one, and `applied: true` in the status is the truth. The real CLI, real servers."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from harness import Gaia, free_port, http_get, run_cli, try_get, wait_until

pytestmark = pytest.mark.timeout(150)

CONFIG = """
    [gaia]
    stop_timeout = "5s"

    [apps.web]
    app = "hello:app"
    server = "{server}"
    bind = "127.0.0.1:{port}"
    env = {{ APP_VERSION = "{version}" }}
    # A slow step keeps the replace under way while the operator's command arrives.
    prestart = [["python", "-c", "import time; time.sleep(1.5)"]]
    backoff = {{ initial = "200ms" }}
"""


def _status(g: Gaia, tmp_path: Path) -> dict[str, Any]:
    done = run_cli("status", "--json", "-c", str(g.config_path), cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def _web(g: Gaia, tmp_path: Path) -> dict[str, Any]:
    app: dict[str, Any] = _status(g, tmp_path)["apps"][0]
    return app


def _serves_only(port: int, version: str) -> bool:
    return all(http_get(port)[1].startswith(f"hello {version} ") for _ in range(5))


def _start(gaia, tmp_path: Path, server: str) -> tuple[Gaia, int]:  # type: ignore[no-untyped-def]
    port = free_port()
    g: Gaia = gaia(CONFIG.format(server=server, port=port, version="v1"))
    g.wait_for(r"web: starting -> running", timeout=40)
    wait_until(lambda: try_get(port) is not None, 15, "web to answer")
    return g, port


def _edit_then(g: Gaia, port: int, tmp_path: Path, *command: str) -> None:
    """Save v2, and while its prestart runs, the operator's command."""
    mark = g.mark()
    g.write_config(CONFIG.format(server=_server(g), port=port, version="v2"))
    g.wait_for(r"web: starting generation 2", timeout=15, start=mark)
    done = run_cli(*command, "-c", str(g.config_path), cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _server(g: Gaia) -> str:
    return "uvicorn" if 'server = "uvicorn"' in g.config_path.read_text() else "gunicorn"


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_a_restart_during_a_replace_keeps_the_edit(gaia, tmp_path: Path, server: str) -> None:  # type: ignore[no-untyped-def]
    g, port = _start(gaia, tmp_path, server)
    _edit_then(g, port, tmp_path, "restart", "web")
    # The replace (generation 2), then the restart's own (generation 3).
    wait_until(lambda: _web(g, tmp_path)["generation"] >= 3, 60, "the restart's generation")
    wait_until(lambda: _web(g, tmp_path)["state"] == "running", 30, "web running")
    assert _serves_only(port, "v2"), "the restart rolled the edit back"
    status = _status(g, tmp_path)
    assert status["config"]["applied"] is True
    assert g.stop() == 0


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_a_scale_during_a_replace_and_a_later_crash_keep_the_edit(  # type: ignore[no-untyped-def]
    gaia, tmp_path: Path, server: str
) -> None:
    g, port = _start(gaia, tmp_path, server)
    _edit_then(g, port, tmp_path, "scale", "web", "2")

    def scaled_on_v2() -> bool:
        web = _web(g, tmp_path)
        return (
            web["generation"] >= 2
            and web["state"] == "running"
            and web["workers"]["desired"] == 2
            and web["workers"]["live"] == 2
        )

    wait_until(scaled_on_v2, 60, "generation 2 serving with 2 workers")
    assert _serves_only(port, "v2")
    # A later crash: the master dies, and the app starts again from what it was last
    # asked to run (v2, 2 workers), never from the config the scale was sent against.
    master = _web(g, tmp_path)["pid"]
    mark = g.mark()
    os.kill(master, signal.SIGKILL)
    g.wait_for(r"web: starting -> running", timeout=60, start=mark)
    wait_until(scaled_on_v2, 60, "web back with 2 workers")
    assert _serves_only(port, "v2"), "the crash restart brought the old config back"
    assert _status(g, tmp_path)["config"]["applied"] is True
    assert g.stop() == 0
