"""The request columns of the status table: req/s, p50, p99, 5xx."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
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


def test_request_columns_follow_state_and_workers_in_red_order() -> None:
    text = render(Snapshot(apps=(WEB,)), width=160)
    header = text.splitlines()[0].split()
    assert header[:7] == ["app", "state", "workers", "req/s", "5xx", "p99", "p50"]
    row = next(line for line in text.splitlines() if "web" in line).split()
    assert row[3:7] == ["1.2k", "1.5%", "250ms", "4ms"]


def test_an_idle_measured_app_shows_zero_and_dashes() -> None:
    idle = dataclasses.replace(
        WEB, requests_per_second=0.0, latency_p50=None, latency_p99=None, errors_5xx_share=None
    )
    row = next(line for line in render(Snapshot(apps=(idle,)), 160).splitlines() if "web" in line)
    assert row.split()[3:7] == ["0", "-", "-", "-"]


def test_80_columns_keep_rate_errors_p99_and_memory() -> None:
    lines = render(Snapshot(apps=(WEB,)), width=80).splitlines()
    assert max(len(line) for line in lines) <= 80
    header = lines[0].split()
    for column in ("state", "workers", "req/s", "5xx", "p99", "memory", "restarts"):
        assert column in header
    assert "pid" not in header  # the note below names it
    assert "running" in lines[2] and "2/2" in lines[2] and "1.5%" in lines[2]
    assert "…" not in "".join(lines)


def test_120_columns_keep_every_watched_column() -> None:
    header = render(Snapshot(apps=(WEB,)), width=120).splitlines()[0].split()
    watched = ["state", "workers", "req/s", "5xx", "p99", "p50", "memory", "cpu", "restarts"]
    assert [column for column in header if column in watched] == watched


def styled(snapshot: Snapshot, text: str) -> str:
    """The style of the first cell that reads `text`."""
    console = Console(width=160, color_system="truecolor", file=io.StringIO())
    for line in console.render_lines(render_status(snapshot), console.options):
        for segment in line:
            if segment.text.strip() == text:
                return str(segment.style or "")
    raise AssertionError(f"{text!r} not drawn")


def test_errors_and_short_workers_are_coloured() -> None:
    """An app answering only 500s showed a green `running` and an uncoloured 100.0%."""
    failing = dataclasses.replace(WEB, errors_5xx_share=1.0)
    assert "red" in styled(Snapshot(apps=(failing,)), "100.0%")
    assert "yellow" in styled(Snapshot(apps=(failing,)), "running")
    some = dataclasses.replace(WEB, errors_5xx_share=0.001)
    assert "yellow" in styled(Snapshot(apps=(some,)), "0.1%")
    healthy = dataclasses.replace(WEB, errors_5xx_share=0.0)
    assert "green" in styled(Snapshot(apps=(healthy,)), "running")
    short = dataclasses.replace(WEB, errors_5xx_share=0.0, workers_live=1)
    assert "yellow" in styled(Snapshot(apps=(short,)), "1/2")
    assert "yellow" in styled(Snapshot(apps=(short,)), "running")
    full = dataclasses.replace(WEB, memory_limit=90 * 1024**2)
    assert "yellow" in styled(Snapshot(apps=(full,)), "83MiB/90MiB")


def test_no_request_columns_when_nothing_is_measured() -> None:
    command = AppSnapshot(name="worker", server="command", state=AppState.RUNNING)
    text = render(Snapshot(apps=(command,)), width=200)
    assert "req/s" not in text and "p99" not in text


def test_the_accept_queue_is_shown_beside_latency() -> None:
    """A saturated sync worker answers fast while clients wait in the kernel's queue."""
    queued = dataclasses.replace(WEB, accept_queue=12)
    header = render(Snapshot(apps=(queued,)), width=160).splitlines()[0].split()
    assert header[5:8] == ["p99", "queue", "p50"]
    assert "yellow" in styled(Snapshot(apps=(queued,)), "12")
    assert "queue" not in render(Snapshot(apps=(WEB,)), width=160)  # not known: no column


def test_the_wait_from_the_proxys_stamp_is_shown_beside_latency() -> None:
    """Only where a trusted proxy stamps X-Request-Start, like the other optional columns."""
    stamped = dataclasses.replace(WEB, wait_p50=0.02, wait_p99=0.4)
    text = render(Snapshot(apps=(stamped,)), width=160)
    header = text.splitlines()[0].split()
    assert header[5:8] == ["p99", "wait", "p50"]
    assert "400ms" in text
    assert "wait" not in render(Snapshot(apps=(WEB,)), width=160)
