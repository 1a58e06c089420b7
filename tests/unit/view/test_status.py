from __future__ import annotations

import io

import pytest
from rich.console import Console

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.view.clean import clean_block, clean_line
from gaia_runner.view.status import render_status

MiB = 1024**2
GiB = 1024**3


def render(snapshot: Snapshot, width: int = 120, *, full: bool = False) -> str:
    console = Console(width=width, color_system=None, record=True, file=io.StringIO())
    console.print(render_status(snapshot, full=full))
    return console.export_text()


WEB = AppSnapshot(
    name="web",
    server="gunicorn",
    state=AppState.RUNNING,
    pid=4242,
    workers_live=2,
    workers_desired=4,
    urls=("http://127.0.0.1:8000", "https://127.0.0.1:8443"),
    memory_bytes=83 * MiB,
    memory_limit=2 * GiB,
    largest_worker_bytes=40 * MiB,
    worker_limit=512 * MiB,
    cpu_percent=12.4,
    restarts=3,
    last_restart_reason="memory",
    uptime_seconds=3725,
)


def test_every_column_of_a_running_app() -> None:
    text = render(Snapshot(apps=(WEB,)), full=True)
    for header in ("app", "server", "state", "pid", "workers", "url", "memory", "cpu"):
        assert header in text
    assert "restarts" in text
    assert "uptime" in text
    for cell in ("web", "gunicorn", "running", "4242", "2/4", "12%", "3 (memory)", "1h02m"):
        assert cell in text
    assert "http://127.0.0.1:8000" in text
    assert "https://127.0.0.1:8443" in text
    assert "83MiB/2GiB" in text
    assert "max worker 40MiB/512MiB" in text


def test_missing_values_render_as_dash() -> None:
    app = AppSnapshot(name="api", server="uvicorn", state=AppState.STOPPED)
    lines = render(Snapshot(apps=(app,)), full=True).splitlines()
    row = next(line for line in lines if line.startswith("api"))
    assert row.split() == ["api", "stopped", "-", "-", "-", "0", "-", "-", "uvicorn", "-"]


def test_backoff_shows_seconds_left_rounded_up() -> None:
    app = AppSnapshot(
        name="api", server="uvicorn", state=AppState.BACKOFF, backoff_seconds_left=3.2
    )
    assert "backoff 4s" in render(Snapshot(apps=(app,)))


def test_fatal_reason_and_last_lines_in_status_footer() -> None:
    lines = tuple(f"traceback line {i}" for i in range(8))
    app = AppSnapshot(
        name="worker",
        server="command",
        state=AppState.FATAL,
        detail="exited 5 times within 10s",
        last_lines=(*lines[:-1], "[red]not markup[/red] \x1b[31mno colour"),
    )
    text = render(Snapshot(apps=(app,)), full=True)
    assert "worker fatal: exited 5 times within 10s" in text
    assert "traceback line 2" not in text  # only the last five
    assert "traceback line 3" in text
    assert "[red]not markup[/red] no colour" in text
    assert "\x1b" not in text


def test_running_apps_have_no_footer() -> None:
    assert "fatal" not in render(Snapshot(apps=(WEB,)))


def test_config_error_footer_keeps_every_line() -> None:
    snapshot = Snapshot(
        apps=(WEB,),
        config_path="/srv/app/gaia.toml",
        config_error="line 3: unknown key 'wrokers'\nin [apps.web]",
    )
    text = render(snapshot)
    assert "gaia.toml not applied: line 3: unknown key 'wrokers'" in text
    assert "in [apps.web]" in text


def test_notices_are_printed() -> None:
    text = render(Snapshot(apps=(WEB,), notices=("reloaded gaia.toml", "port 8000 in use")))
    assert "reloaded gaia.toml" in text
    assert "port 8000 in use" in text


@pytest.mark.parametrize("width", [80, 60, 30])
def test_narrow_terminal_keeps_name_and_state(width: int) -> None:
    apps = (
        WEB,
        AppSnapshot(name="api", server="uvicorn", state=AppState.BACKOFF, backoff_seconds_left=9),
    )
    text = render(Snapshot(apps=apps), width=width)
    assert "web" in text
    assert "running" in text
    assert "backoff 9s" in text
    assert max(len(line) for line in text.splitlines()) <= width


def test_80_columns_drop_minor_columns_whole_and_say_so() -> None:
    text = render(Snapshot(apps=(WEB,)), width=80, full=True)
    for cell in ("running", "2/4", "3 (memory)", "83MiB/2GiB", "max worker 40MiB/512MiB"):
        assert cell in text
    assert "gunicorn" not in text  # dropped, not squeezed into "gun…"
    assert "…" not in text
    assert "(hidden: pid, server, url; `gaia status` has all)" in text


def test_empty_snapshot_renders() -> None:
    assert "app" in render(Snapshot(apps=()))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[1;31merror\x1b[0m", "error"),
        ("\x1b]0;title\x07text", "text"),
        ("10%\r50%\r100%", "100%"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("bad \udcff byte", "bad ? byte"),
        ("line\r\n", "line"),
    ],
)
def test_clean_line(raw: str, clean: str) -> None:
    assert clean_line(raw) == clean


def test_unwritten_log_lines_are_shown_under_the_table() -> None:
    app = AppSnapshot("web", "gunicorn", AppState.RUNNING, unwritten_lines=1234)
    assert "web: 1234 output lines could not be written to its log file" in render(
        Snapshot(apps=(app,))
    )
    quiet = AppSnapshot("web", "gunicorn", AppState.RUNNING)
    assert "could not be written" not in render(Snapshot(apps=(quiet,)))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[1;31merror\x1b[0m", "error"),
        ("\x1b]0;title\x07text", "text"),
        ("10%\r50%\r100%", "100%"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("bad \udcff byte", "bad ? byte"),
        ("line\r", "line"),
        ("a\tb", "a       b"),
        ("café\x85", "café"),
    ],
)
def test_clean_block_matches_clean_line_on_each_line(raw: str, clean: str) -> None:
    assert clean_line(raw) == clean
    assert clean_block(f"{raw}\n{raw}") == f"{clean}\n{clean}"
