"""A start that cannot even be spawned is a failed start like any other: backed off,
counted, and retried, so a directory swapped away for a moment costs seconds, not the app."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from harness import FIXTURES, Gaia, free_port, run_cli, try_get, wait_until

pytestmark = pytest.mark.timeout(120)


def answers(port: int) -> bool:
    answer = try_get(port)
    return answer is not None and answer[0] == 200


def serving(gaia, extra: str) -> tuple[Gaia, int, psutil.Process]:  # type: ignore[no-untyped-def]
    """gaia running one uvicorn app `web` (plus `extra` keys), once it answers."""
    port = free_port()
    config = f'[apps.web]\napp = "hello:app"\nserver = "uvicorn"\nbind = "127.0.0.1:{port}"\n'
    g: Gaia = gaia(config + extra + "\n", "--no-watch")
    g.wait_for(r"web: starting -> running", timeout=30)
    wait_until(lambda: answers(port), 15, "the app to answer")
    return g, port, psutil.Process(g.pid).children()[0]


def test_an_app_whose_cwd_vanished_for_seconds_comes_back_on_its_own(
    gaia,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    release = tmp_path / "current"
    release.mkdir()
    g, port, master = serving(
        gaia, f'cwd = "{release}"\nrestart = "always"\nbackoff = {{ initial = "1s", factor = 2 }}'
    )

    # A release swap: the directory is gone while the app dies.
    mark = g.mark()
    release.rename(tmp_path / "previous")
    os.kill(master.pid, signal.SIGKILL)
    g.wait_for(r"web: .*could not start: .*No such file or directory", timeout=30, start=mark)
    (tmp_path / "previous").rename(release)

    g.wait_for(r"web: starting -> running", timeout=30, start=mark)
    wait_until(lambda: answers(port), 15, "the app to answer again")
    assert "web: starting -> failed" not in g.output()
    assert "internal error" not in g.output()
    assert g.stop() == 0


@pytest.mark.timeout(120)
def test_a_replacement_that_cannot_be_spawned_leaves_the_old_generation_serving(
    gaia,  # type: ignore[no-untyped-def]
    app_user: str,
    tmp_path: Path,
) -> None:
    """The app's user is deleted while it serves: `gaia restart` cannot start a new
    generation, says so, and the serving one keeps answering (it was an internal error
    that stopped it)."""
    g, port, master = serving(gaia, f'user = "{app_user}"\ncwd = "{FIXTURES}"')
    subprocess.run(["userdel", "-f", app_user], check=True, capture_output=True, timeout=30)

    mark = g.mark()
    done = run_cli("restart", "web", "-c", str(g.config_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    g.wait_for(r"could not start: .*no user named .*still serving", timeout=30, start=mark)
    assert answers(port)
    assert master.is_running() and psutil.Process(g.pid).children() == [master]
    assert "internal error" not in g.output()
    assert g.stop() == 0
