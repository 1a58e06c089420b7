"""A stale gaia.pid whose pid now belongs to a stranger must never get a signal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from harness import run_cli

pytestmark = pytest.mark.timeout(90)

CONFIG = """
    [gaia]
    state_dir = "{state}"

    [apps.idle]
    command = ["python", "-c", "import time; time.sleep(120)"]
"""


@pytest.fixture
def stranger() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], stdin=subprocess.DEVNULL
    )
    yield proc
    proc.kill()
    proc.wait(10)


def records_for(pid: int) -> list[str]:
    """A pid file from an older gaia (bare pid), and ones whose start time does not match."""
    started = psutil.Process(pid).create_time()
    return [f"{pid}\n", f"{pid} {started - 3600!r}\n", f"{pid} {started + 5!r}\n"]


def test_signalling_commands_refuse_a_stranger(tmp_path: Path, stranger) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    config = tmp_path / "gaia.toml"
    config.write_text(textwrap.dedent(CONFIG.format(state=state)))
    for record in records_for(stranger.pid):
        (state / "gaia.pid").write_text(record)
        for command in ("down", "reload"):  # down signals the pid; reload asks the socket
            done = run_cli(command, "-c", str(config), cwd=tmp_path)
            assert done.returncode == 1, done.stderr
            assert "no gaia running for this config" in done.stderr
        with pytest.raises(subprocess.TimeoutExpired):
            stranger.wait(0.3)  # SIGTERM's default action would have ended it by now
        assert psutil.Process(stranger.pid).status() != psutil.STATUS_ZOMBIE


def test_stale_pid_does_not_block_up_and_reload_reaches_the_real_gaia(
    gaia, tmp_path: Path, stranger
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "gaia.pid").write_text(f"{stranger.pid}\n")
    g = gaia(CONFIG.format(state=state), "--no-watch")
    g.wait_for(r"idle: .*-> running", timeout=30)
    mark = g.mark()
    done = run_cli("reload", "-c", str(g.config_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "applied" in done.stdout
    g.wait_for(r"reload plan", timeout=15, start=mark)
    assert stranger.poll() is None
    assert g.stop() == 0
    assert not (state / "gaia.pid").exists()
