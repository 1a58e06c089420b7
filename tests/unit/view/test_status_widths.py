"""The live table in fixed 80- and 120-column consoles: what stays, what goes, and what
a FATAL app and a rejected edit look like there."""

from __future__ import annotations

import io

from rich.console import Console

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.view.status import render_status

MiB = 1024**2

WEB = AppSnapshot(
    name="web",
    server="gunicorn",
    state=AppState.RUNNING,
    pid=4242,
    workers_live=4,
    workers_desired=4,
    urls=("http://127.0.0.1:8000", "https://[::1]:8443"),
    memory_bytes=183 * MiB,
    largest_worker_bytes=40 * MiB,
    cpu_percent=12.4,
    restarts=3,
    last_restart_reason="memory",
    uptime_seconds=3725,
    generation=4,
)
API = AppSnapshot(
    name="api",
    server="uvicorn",
    state=AppState.RUNNING,
    pid=4300,
    workers_live=2,
    workers_desired=2,
    urls=("http+unix:///srv/app/run/api.sock",),
    memory_bytes=95 * MiB,
    cpu_percent=3.0,
    uptime_seconds=59,
)
WORKER = AppSnapshot(
    name="worker",
    server="command",
    state=AppState.FATAL,
    restarts=5,
    last_restart_reason="exit code 1",
    detail="gave up after 5 failed starts (last: exit code 1) " + "and a long tail " * 8,
    last_lines=tuple(f"Traceback line {i} " + "x" * 120 for i in range(6)),
)
ERROR = (
    "/srv/app/gaia.toml:12: apps.web.workers: must be >= 1, got 0 (the value that was there "
    "before stays in effect until the file is fixed)\n"
    "/srv/app/gaia.toml:20: apps.api.bind: 127.0.0.1:8000 is also used by app 'web'"
)
SNAPSHOT = Snapshot(apps=(WEB, API, WORKER), config_path="/srv/app/gaia.toml", config_error=ERROR)


def render(snapshot: Snapshot, width: int, height: int = 24) -> list[str]:
    console = Console(
        width=width, height=height, color_system=None, record=True, file=io.StringIO()
    )
    console.print(render_status(snapshot))
    return console.export_text().splitlines()


def unwrapped(lines: list[str]) -> str:
    """The panel's text with borders and line breaks taken out, to find whole sentences."""
    return " ".join(line.strip("│ ").strip() for line in lines)


def test_80x24_keeps_state_workers_restarts_memory() -> None:
    lines = render(SNAPSHOT, 80)
    assert max(len(line) for line in lines) <= 80
    header = lines[0].split()
    for column in ("app", "state", "workers", "memory", "restarts"):
        assert column in header
    assert "server" not in header and "pid" not in header  # dropped first, and named
    web = next(line for line in lines if line.startswith("web "))
    for cell in ("running", "4/4", "183MiB", "3 (memory)"):
        assert cell in web
    assert any(line.startswith("(hidden: pid, server") for line in lines)


def test_the_live_table_has_one_line_per_app() -> None:
    """`max worker` on a second line doubled the table's height (10 apps: 23 rows)."""
    lines = render(Snapshot(apps=(WEB, API)), 80)
    assert not any("max worker" in line for line in lines)
    assert [line.split()[0] for line in lines[2:4]] == ["web", "api"]


def test_80x24_everything_fits_in_24_lines() -> None:
    assert len(render(SNAPSHOT, 80)) <= 24


def test_the_live_table_shows_the_url_short() -> None:
    lines = render(Snapshot(apps=(API,)), 100)
    header = lines[0].split()
    assert "url" in header and "memory" in header and "restarts" in header
    assert any("/srv/app/run/api.sock" in line for line in lines)
    assert not any("http+unix://" in line for line in lines)  # the scheme went first


def test_a_fatal_app_takes_at_most_two_lines_at_80_columns() -> None:
    lines = render(SNAPSHOT, 80)
    start = next(i for i, line in enumerate(lines) if line.startswith("worker fatal"))
    assert "gave up after 5 failed starts" in lines[start]
    assert lines[start + 1].startswith("  Traceback line 5")
    assert not any("Traceback line 4" in line for line in lines)
    assert all(len(line) <= 80 for line in lines[start : start + 2])
    after = lines[start + 2] if start + 2 < len(lines) else ""
    assert not after.startswith("  ")  # nothing of the failure spills onto a third line


def test_the_rejected_edit_panel_is_never_cut_at_80_columns() -> None:
    lines = render(SNAPSHOT, 80)
    top = next(i for i, line in enumerate(lines) if line.startswith("╭"))
    bottom = next(i for i, line in enumerate(lines) if i > top and line.startswith("╰"))
    text = unwrapped(lines[top + 1 : bottom])
    assert "gaia.toml not applied:" in text
    for sentence in ERROR.split("\n"):
        assert " ".join(sentence.split()) in text, sentence
    assert "…" not in text


def test_120_columns_show_what_is_watched_in_order() -> None:
    lines = render(SNAPSHOT, 120)
    header = lines[0].split()
    expected = ["app", "state", "workers", "memory", "cpu", "restarts", "uptime", "url"]
    assert header[: len(expected)] == expected
    assert any("127.0.0.1:8000 +1" in line for line in lines)  # shortened, not dropped
    wide = render(Snapshot(apps=(WEB,)), 160)
    assert wide[0].split()[-2:] == ["server", "pid"]


def test_stopped_by_request_and_scaled_apps_say_so() -> None:
    stopped = AppSnapshot(
        name="api", server="uvicorn", state=AppState.STOPPED, stopped_by_request=True
    )
    scaled = AppSnapshot(
        name="web",
        server="gunicorn",
        state=AppState.RUNNING,
        workers_live=3,
        workers_desired=3,
        workers_in_file=2,
        rejected="new version exited; still serving the previous version (generation 3)",
    )
    text = "\n".join(render(Snapshot(apps=(stopped, scaled)), 120))
    assert "stopped (by request)" in text
    assert "3/3*" in text
    assert "web: 3 workers set by `gaia scale` (gaia.toml says 2)" in text
    assert "web: last replace refused: new version exited; still serving the previous" in text
