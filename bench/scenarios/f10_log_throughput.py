"""Figure 10: a chatty app's output through gaia vs the same app writing to a file.

The logger writes access-log-like lines, paced at 50 MB/s and then unpaced. Through gaia
every line goes to the app's log file and to gaia's own stdout (plain lines, into a file).
Throughput is what the logger itself achieved; lines lost are counted on gaia's stdout,
where every line must appear (the log files rotate, so they only keep the newest 40 MiB).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import procs, targets
from bench.core import Ctx, Figure, Measure, Sample, alternate, ratio_stat, rows_from

NUMBER = 10
KEY = "f10_log_throughput"
TITLE = "Chatty app: log throughput through gaia vs writing to a file directly"

DIRECT = "app > file (direct)"
GAIA = "gaia (command app)"
PACE = 50e6
LOGGER = targets.APPS_DIR / "logger.py"


def _wait_report(report: Path, timeout: float) -> tuple[int, int, float]:
    deadline = time.monotonic() + timeout
    while not report.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the logger did not finish within {timeout:g} s")
        time.sleep(0.05)
    lines, size, seconds = report.read_text().split()
    return int(lines), int(size), float(seconds)


def _rates(size: int, seconds: float, prefix: str) -> Sample:
    return {f"{prefix}mbps": size / seconds / 1e6}


def _direct(total: int) -> Measure:
    def measure(workdir: Path) -> Sample:
        sample: Sample = {}
        for rate, prefix in ((PACE, "paced_"), (0.0, "max_")):
            report = workdir / f"{prefix}report"
            proc = procs.spawn(
                [sys.executable, str(LOGGER), str(total), str(rate), str(report)],
                workdir,
                workdir / f"{prefix}out.log",
            )
            try:
                _, size, seconds = _wait_report(report, 120)
            finally:
                procs.stop(proc)
            sample |= _rates(size, seconds, prefix)
        return sample

    return measure


def _through_gaia(total: int) -> Measure:
    def measure(workdir: Path) -> Sample:
        sample: Sample = {}
        for rate, prefix in ((PACE, "paced_"), (0.0, "max_")):
            rundir = workdir / prefix.strip("_")
            rundir.mkdir()
            sample |= {prefix + k: v for k, v in _gaia_once(rundir, total, rate).items()}
        return sample

    return measure


def _gaia_once(rundir: Path, total: int, rate: float) -> Sample:
    report = rundir / "report"
    app = {"command": [sys.executable, str(LOGGER), str(total), str(rate), str(report)]}
    config = rundir / "gaia.toml"
    config.write_text(targets.gaia_toml(rundir, {"log": app}))
    out = rundir / "gaia.out"
    proc = procs.spawn(targets.gaia_argv(config), rundir, out)
    try:
        # From the first line shown, so that gaia's own start-up is not counted.
        _wait(lambda: _shown(out) > 0, 60)
        cpu_before, t0 = _own_cpu(proc.pid), time.monotonic()
        lines, size, seconds = _wait_report(report, 120)
        _wait_shown(out, lines, 30)
        cpu = (_own_cpu(proc.pid) - cpu_before) / (time.monotonic() - t0)
    finally:
        procs.stop(proc)
    return {**_rates(size, seconds, ""), "lost": float(lines - _shown(out)), "cpu": 100 * cpu}


def _wait(done: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


def _wait_shown(out: Path, lines: int, timeout: float, quiet: float = 2.0) -> None:
    """Until every line is on gaia's stdout, or none has come for `quiet` seconds: gaia drops
    what its stdout queue cannot hold (logs/writer.py), and a dropped line never comes, so
    waiting out the whole timeout for it would only add that much to every run that drops."""
    deadline = time.monotonic() + timeout
    shown, since = _shown(out), time.monotonic()
    while shown < lines and time.monotonic() < deadline:
        time.sleep(0.1)
        now = _shown(out)
        if now != shown:
            shown, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def _own_cpu(pid: int) -> float:
    """gaia's own CPU, not its children's: the cost of handling the output."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _shown(out: Path) -> int:
    """Lines of the logger on gaia's stdout. Read by MiB, carrying the last bytes over: a
    line whose prefix straddled two reads used to go uncounted (~60 "lost" per 400 MB)."""
    needle = b"\nlog | 127.0.0.1"
    count, carry = 0, b""
    with out.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            data = carry + chunk
            count += data.count(needle)
            carry = data[-(len(needle) - 1) :]
    return count


def run(ctx: Ctx) -> Figure:
    total = int(ctx.scale(400e6, 10e6))
    measures = {DIRECT: _direct(total), GAIA: _through_gaia(total)}
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {
        "MB/s (paced 50)": ("paced_mbps", ""),
        "MB/s (unpaced)": ("max_mbps", ""),
        "gaia CPU, paced (% core)": ("paced_cpu", " %"),
        "lines lost": ("paced_lost", ""),
    }
    ratio = "ratio gaia/direct (paced)"
    fig = Figure(NUMBER, KEY, TITLE, [*columns, ratio, "ratio gaia/direct (unpaced)"])
    fig.rows = rows_from(results, columns)
    for row in fig.rows:
        is_gaia = row.target == GAIA
        row.cells[ratio] = (
            ratio_stat(results[GAIA], results[DIRECT], "paced_mbps") if is_gaia else "-"
        )
        row.cells["ratio gaia/direct (unpaced)"] = (
            ratio_stat(results[GAIA], results[DIRECT], "max_mbps") if is_gaia else "-"
        )
    fig.notes.append(
        f"{total / 1e6:.0f} MB of ~95-byte lines per run. Target: paced ratio >= 0.8 with no "
        "line lost. gaia before this figure existed paused 20 ms per 256 KiB read, which "
        "capped any app at ~12 MB/s."
    )
    return fig
