"""`gaia top` in a real terminal (tmux; 80x24, and 120x40), driven by keys as a user
would, against a real gaia with two apps, detached (`up -d`) or in the foreground: what the
screen shows is checked, and every change it asks for is confirmed by `gaia status`."""

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


# What gaia top's table names at each size, left to right (the app list's columns).
TOP_WATCHED = {
    80: ["app", "state", "workers", "req/s", "5xx", "p99"],
    120: ["app", "state", "workers", "req/s", "5xx", "p99", "p50", "memory", "cpu", "restarts"],
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_top_attaches_to_a_gaia_in_the_foreground(
    gaia, tmp_path: Path, size: tuple[int, int]
) -> None:
    """`gaia up --no-tui` in the foreground of its own session, `gaia top` in a terminal
    beside it: the same screen and keys as for `up -d`, and quitting top leaves gaia up."""
    text = _config(tmp_path, free_port(), free_port()).read_text()
    g = gaia(text)
    g.wait_for(r"web: starting -> running", timeout=60)
    g.wait_for(r"reports: starting -> running", timeout=60)
    width, height = size
    terminal = Terminal(tmp_path, width, height)
    try:
        terminal.run(sys.executable, "-m", "gaia_runner", "top", "-c", str(g.config_path))
        screen = terminal.wait_screen(
            lambda s: (
                _row(s, "web")[1:3] == ["running", "2/2"]
                and _row(s, "reports")[1:3] == ["running", "1/1"]
            ),
            60,
            "both apps running in gaia top",
        )
        assert len(screen) == height and all(len(line) <= width for line in screen)
        header = next(line.split() for line in screen if line.startswith("app "))
        assert [c for c in header if c in TOP_WATCHED[width]] == TOP_WATCHED[width], screen

        # A key acts on the foreground gaia as on a detached one.
        wait_until(lambda: _selected(terminal, "web"), 30, "web selected first")
        terminal.keys("+")
        terminal.wait_screen(lambda s: _row(s, "web")[2:3] == ["3/3*"], 90, "web at 3 workers")
        assert app_of(status_json(tmp_path), "web")["workers"]["desired"] == 3

        terminal.keys("q")
        wait_until(lambda: terminal.exit_status() is not None, 30, "gaia top to exit")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    assert g.proc is not None and g.proc.poll() is None  # top only watched it
    assert app_of(status_json(tmp_path), "reports")["state"] == "running"
    assert g.stop() == 0
