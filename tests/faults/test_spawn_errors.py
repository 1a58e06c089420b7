"""A start that cannot even be spawned is a failed start like any other: backed off,
counted, and retried, so a directory swapped away for a moment costs seconds, not the app."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest
from harness import Gaia, free_port, try_get, wait_until

pytestmark = pytest.mark.timeout(120)


def answers(port: int) -> bool:
    answer = try_get(port)
    return answer is not None and answer[0] == 200


def test_an_app_whose_cwd_vanished_for_seconds_comes_back_on_its_own(
    gaia,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    release = tmp_path / "current"
    release.mkdir()
    port = free_port()
    g: Gaia = gaia(
        f"""
        [apps.web]
        app = "hello:app"
        server = "uvicorn"
        cwd = "{release}"
        bind = "127.0.0.1:{port}"
        restart = "always"
        backoff = {{ initial = "1s", factor = 2 }}
        """,
        "--no-watch",
    )
    g.wait_for(r"web: starting -> running", timeout=30)
    wait_until(lambda: answers(port), 15, "the app to answer")
    master = psutil.Process(g.pid).children()[0]

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
