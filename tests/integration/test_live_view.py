"""The live view of `gaia up` in a real terminal (tmux) at 80x24 and 120x40, read from the
screen as a user sees it: the table's columns and colours, log lines that never wrap
mid-word, one fixed name column, and a clean screen after Ctrl-C."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import free_port, try_get
from terminal import HAVE_TMUX, Terminal

pytestmark = pytest.mark.skipif(not HAVE_TMUX, reason="tmux is not installed")

SGR = re.compile(r"\x1b\[[0-9;]*m")
# What an operator watches, at each size (columns named left to right).
WATCHED = {
    80: ["app", "state", "workers", "req/s", "5xx", "p99"],
    120: ["app", "state", "workers", "req/s", "5xx", "p99", "p50", "memory", "cpu", "restarts"],
}


@pytest.fixture
def terminal(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Terminal]:
    width, height = request.param
    term = Terminal(tmp_path, width, height)
    yield term
    term.close()


def _config(tmp_path: Path, web: int, reports: int) -> Path:
    config = tmp_path / "gaia.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [apps.web]
            app = "metrics_app:app"
            server = "gunicorn"
            bind = "127.0.0.1:{web}"
            workers = 2

            [apps.reports]
            app = "metrics_app:app"
            server = "uvicorn"
            bind = "127.0.0.1:{reports}"
            """
        )
    )
    return config


def _row(screen: list[str], name: str) -> list[str]:
    return next(line.split() for line in screen if line.startswith(f"{name} ") and "|" not in line)


def _table_line(coloured: list[str], name: str) -> str:
    return next(
        line
        for line in coloured
        if SGR.sub("", line).startswith(f"{name} ") and "|" not in SGR.sub("", line)
    )


def _style_before(line: str, text: str) -> str:
    """The SGR codes in force where `text` starts on a captured line."""
    assert text in SGR.sub("", line), repr(line)
    at = SGR.sub(lambda m: "\0" * len(m.group()), line).index(text)
    return "".join(SGR.findall(line[:at]))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("terminal", [(80, 24), (120, 40)], indirect=True, ids=["80x24", "120x40"])
def test_the_live_view_in_a_real_terminal(terminal: Terminal, tmp_path: Path) -> None:
    web, reports = free_port(), free_port()
    terminal.gaia(_config(tmp_path, web, reports))

    def both_running(screen: list[str]) -> bool:
        return any(line.startswith("app ") for line in screen) and all(
            any(line.startswith(f"{name} ") and " running " in line for line in screen)
            for name in ("web", "reports")
        )

    terminal.wait_screen(both_running, 60, "both apps running in the table")
    # web answers only 500s (each one logs a traceback with long lines); reports only 200s.
    for _ in range(20):
        assert try_get(web, "/boom") is not None
        assert try_get(reports, "/") is not None

    def measured(screen: list[str]) -> bool:
        return any(line.startswith("web ") and "100.0%" in line for line in screen)

    screen = terminal.wait_screen(measured, 30, "web's 5xx share in the table")
    width = terminal.width
    assert all(len(line) <= width for line in screen)
    header = next(line.split() for line in screen if line.startswith("app "))
    assert [c for c in header if c in WATCHED[width]] == WATCHED[width], "\n".join(screen)
    # One line per app, nothing cut with an ellipsis.
    web_row, reports_row = _row(screen, "web"), _row(screen, "reports")
    assert web_row[:3] == ["web", "running", "2/2"]
    assert reports_row[:3] == ["reports", "running", "1/1"]
    assert not any("…" in line for line in screen)  # the note of hidden columns included
    # Colour where attention is needed: web's errors red and its state not green.
    coloured = terminal.screen(escapes=True)
    web_line = _table_line(coloured, "web")
    assert "31" in _style_before(web_line, "100.0%")
    assert "32" not in _style_before(web_line, "running")
    reports_line = _table_line(coloured, "reports")
    assert "32" in _style_before(reports_line, "running")
    # Log lines: one name column, as wide as the longest name ("reports"), every row of
    # a folded line under it; gaia's own events without a second "gaia:".
    logs = [line for line in screen if re.match(r"^[\w ]{7} \| ", line)]
    assert len(logs) >= 5
    assert not any(line.startswith("gaia    | gaia:") for line in screen)
    assert not any(
        re.match(r"^(web|reports|gaia) +[^ |]", line) for line in screen if "|" in line[:12]
    )
    # Ctrl-C: a clean stop, no socket-close noise, and no stale table left behind.
    terminal.keys("C-c")
    final = terminal.wait_screen(lambda _: terminal.exit_status() is not None, 60, "gaia's exit")
    assert terminal.exit_status() == 0
    assert any(line.startswith("gaia    | stopped") for line in final)
    assert not any(line.startswith("app ") for line in final)
    assert not any("Errno 9" in line for line in final)
