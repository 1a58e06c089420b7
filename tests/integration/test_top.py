"""`gaia top` in a real 80x24 terminal (tmux), driven by keys as a user would, against a
real `gaia up -d` with two apps: what the screen shows is checked, and every change it
asks for is confirmed by `gaia status`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import free_port, run_cli, wait_until
from terminal import HAVE_TMUX, Terminal
from test_live_view import _config
from test_operate import _kill_detached, app_of, status_json

pytestmark = pytest.mark.skipif(not HAVE_TMUX, reason="tmux is not installed")
REVERSE = "\x1b[7m"


@pytest.fixture
def detached(tmp_path: Path) -> Iterator[Path]:
    config = _config(tmp_path, free_port(), free_port())  # web (2 workers), reports
    try:
        up = run_cli("up", "-d", "-c", str(config), cwd=tmp_path, timeout=90)
        assert up.returncode == 0, up.stdout + up.stderr
        yield config
    finally:
        run_cli("down", "-c", str(config), cwd=tmp_path, timeout=90)
        _kill_detached(tmp_path / ".gaia")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path, 80, 24)
    yield term
    term.close()


def _row(screen: list[str], name: str) -> list[str]:
    return next((line.split() for line in screen if line.startswith(f"{name} ")), [])


def _selected(terminal: Terminal, name: str) -> bool:
    return any(REVERSE in line and name in line for line in terminal.screen(escapes=True))


@pytest.mark.timeout(240)
def test_top_shows_both_apps_helps_stops_scales_and_quits(
    detached: Path, terminal: Terminal, tmp_path: Path
) -> None:
    terminal.run(sys.executable, "-m", "gaia_runner", "top", "-c", str(detached))
    terminal.wait_screen(
        lambda s: _row(s, "web")[1:2] == ["running"] and _row(s, "reports")[1:2] == ["running"],
        60,
        "both apps running in gaia top",
    )
    terminal.keys("?")
    terminal.wait_screen(lambda s: any("gaia top: keys" in line for line in s), 30, "the help")
    terminal.keys("Escape")
    terminal.wait_screen(lambda s: not any("gaia top: keys" in line for line in s), 30, "no help")

    # Select reports, stop it: a question first, then the stop, which `gaia status` confirms.
    wait_until(lambda: _selected(terminal, "web"), 30, "web selected first")
    terminal.keys("Down")
    wait_until(lambda: _selected(terminal, "reports"), 30, "reports selected")
    terminal.keys("x")
    terminal.wait_screen(lambda s: any("Stop reports?" in line for line in s), 30, "the question")
    assert app_of(status_json(tmp_path), "reports")["state"] == "running"  # not before the answer
    terminal.keys("y")
    terminal.wait_screen(lambda s: _row(s, "reports")[1:2] == ["stopped"], 90, "reports stopped")
    assert app_of(status_json(tmp_path), "reports")["state"] == "stopped"
    assert app_of(status_json(tmp_path), "web")["state"] == "running"

    # Back to web, one worker more: the row and gaia agree.
    terminal.keys("Up")
    wait_until(lambda: _selected(terminal, "web"), 30, "web selected again")
    terminal.keys("+")
    terminal.wait_screen(lambda s: _row(s, "web")[2:3] == ["3/3*"], 90, "web at 3 workers")
    assert app_of(status_json(tmp_path), "web")["workers"]["desired"] == 3

    # web's log tail, then only its lines containing "booting" (any case).
    terminal.keys("l")
    terminal.wait_screen(lambda s: any(line.startswith("── web") for line in s), 30, "web's log")
    terminal.keys("/")
    terminal.wait_screen(lambda s: any("show log lines" in line for line in s), 30, "the field")
    terminal.keys("-l", "booting")
    terminal.keys("Enter")

    def only_booting(screen: list[str]) -> bool:
        at = next((i for i, line in enumerate(screen) if line.startswith("── web")), None)
        if at is None or "containing 'booting'" not in screen[at]:
            return False
        shown = [line for line in screen[at + 1 : -1] if line.strip()]
        return bool(shown) and all("booting" in line.lower() for line in shown)

    terminal.wait_screen(only_booting, 30, "web's log filtered")

    terminal.keys("q")
    wait_until(lambda: terminal.exit_status() is not None, 30, "gaia top to exit")
    assert terminal.exit_status() == 0
    # gaia itself keeps running: top only watched it.
    assert app_of(status_json(tmp_path), "web")["state"] == "running"
