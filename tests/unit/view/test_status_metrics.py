"""The request columns of the status table: req/s, p50, p99, 5xx."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from gaia_runner.supervise.state import AppState
from gaia_runner.view.snapshot import AppSnapshot, Snapshot
from gaia_runner.view.status import render_status

WEB = AppSnapshot(
    name="web",
    server="gunicorn",
    state=AppState.RUNNING,
    pid=4242,
    workers_live=2,
    workers_desired=2,
    urls=("http://127.0.0.1:8000",),
    memory_bytes=83 * 1024**2,
    cpu_percent=12.4,
    uptime_seconds=65,
    requests_per_second=1234.5,
    latency_p50=0.0042,
    latency_p99=0.25,
    errors_5xx_share=0.015,
)


def render(snapshot: Snapshot, width: int) -> str:
    console = Console(width=width, color_system=None, record=True, file=io.StringIO())
    console.print(render_status(snapshot))
    return console.export_text()


def test_request_columns_on_a_wide_terminal() -> None:
    text = render(Snapshot(apps=(WEB,)), width=160)
    header = text.splitlines()[0].split()
    assert header[header.index("url") + 1 : header.index("url") + 5] == [
        "req/s",
        "p50",
        "p99",
        "5xx",
    ]
    row = next(line for line in text.splitlines() if "web" in line).split()
    for cell in ("1.2k", "4ms", "250ms", "1.5%"):
        assert cell in row


def test_an_idle_measured_app_shows_zero_and_dashes() -> None:
    idle = dataclasses.replace(
        WEB, requests_per_second=0.0, latency_p50=None, latency_p99=None, errors_5xx_share=None
    )
    row = next(line for line in render(Snapshot(apps=(idle,)), 160).splitlines() if "web" in line)
    cells = row.split()
    i = cells.index("http://127.0.0.1:8000")
    assert cells[i + 1 : i + 5] == ["0", "-", "-", "-"]


def test_request_columns_are_dropped_first_at_80_columns() -> None:
    text = render(Snapshot(apps=(WEB,)), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "p50" not in text.splitlines()[0]  # the first to go (the note below names it)
    assert "running" in text and "2/2" in text and "1:8000" in text
    assert "…" not in text


def test_no_request_columns_when_nothing_is_measured() -> None:
    command = AppSnapshot(name="worker", server="command", state=AppState.RUNNING)
    text = render(Snapshot(apps=(command,)), width=200)
    assert "req/s" not in text and "p99" not in text
