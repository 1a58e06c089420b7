"""Figure 12: the live table's cost while an app logs 1,000 lines/s.

gaia draws its table under script(1) at 80 and at 120 columns (every log line scrolls
above the table, so a naive live view re-renders it per line); --no-tui and supervisord
(which writes the same output to a log file) run the same logger for comparison.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

from bench import procs, targets
from bench.core import Ctx, Figure, Measure, Sample, alternate, rows_from
from bench.peers import peers_bin

NUMBER = 12
KEY = "f12_table_cpu"
TITLE = "Live table cost: gaia's own CPU while an app logs 1,000 lines/s"

RATE = 1000
TICKER = targets.APPS_DIR / "ticker.py"
GAIA_80 = "gaia, live table, 80 columns"
GAIA_120 = "gaia, live table, 120 columns"
GAIA_PLAIN = "gaia, --no-tui (plain lines)"


def _cpu(pid: int, settle: float, window: float) -> Sample:
    time.sleep(settle)
    manager = psutil.Process(pid)
    before, t0 = manager.cpu_times(), time.monotonic()
    time.sleep(window)
    after = manager.cpu_times()
    used = after.user + after.system - before.user - before.system
    return {"cpu": 100 * used / (time.monotonic() - t0)}


def _gaia(columns: int | None, settle: float, window: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        targets.copy_apps(workdir)
        app = {"command": [sys.executable, str(workdir / TICKER.name), str(RATE)]}
        config = workdir / "gaia.toml"
        config.write_text(targets.gaia_toml(workdir, {"log": app}))
        tui = columns is not None
        env = {"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "40"} if tui else {}
        proc = procs.spawn(targets.gaia_argv(config, tui=tui), workdir, workdir / "out.log", env)
        try:
            pid = targets._find_gaia(proc.pid) if tui else proc.pid
            return _cpu(pid, settle, window)
        finally:
            if tui:
                procs.stop_pid(targets.manager_pid_or(proc))
            procs.stop(proc)

    return measure


def _supervisord(settle: float, window: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        targets.copy_apps(workdir)
        argv = [sys.executable, str(workdir / TICKER.name), str(RATE)]
        config = workdir / "supervisord.conf"
        spec = targets.AppSpec(env={})
        config.write_text(targets.supervisord_conf(workdir, argv, spec))
        cmd = [str(peers_bin() / "supervisord"), "-c", str(config)]
        proc = procs.spawn(cmd, workdir, workdir / "out.log")
        try:
            return _cpu(proc.pid, settle, window)
        finally:
            procs.stop(proc)

    return measure


def run(ctx: Ctx) -> Figure:
    settle, window = ctx.scale(3, 1), ctx.scale(10, 1.5)
    measures = {
        GAIA_80: _gaia(80, settle, window),
        GAIA_120: _gaia(120, settle, window),
        GAIA_PLAIN: _gaia(None, settle, window),
        targets.SUPERVISORD: _supervisord(settle, window),
    }
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    fig = Figure(NUMBER, KEY, TITLE, ["manager CPU"])
    fig.rows = rows_from(results, {"manager CPU": ("cpu", " % core")})
    fig.notes.append(
        f"A command app prints {RATE:,} access-log-like lines/s (10 every 10 ms). CPU of the "
        f"manager process alone over {window:g} s after {settle:g} s. Target: the live table "
        "<= 5 % of a core at 80 and 120 columns. supervisord writes the output to its log file."
    )
    return fig
