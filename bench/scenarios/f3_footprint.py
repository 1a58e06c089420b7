"""Figure 3: the manager's own footprint while the app idles: RSS, USS and CPU."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from bench import targets
from bench.core import Ctx, Figure, Measure, Sample, alternate, rows_from

NUMBER = 3
KEY = "f3_footprint"
TITLE = "Manager's own footprint, app idle (the manager process only, not the app)"

MIB = 1024 * 1024
GAIA_TUI = "gaia (gunicorn), live table"
GAIA_PLAIN = "gaia (gunicorn), --no-tui"


def _measure(kind: str, tui: bool, settle: float, window: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        with targets.serve(kind, workdir, tui=tui) as server:
            time.sleep(settle)
            manager = psutil.Process(server.manager_pid)
            before = manager.cpu_times()
            t0 = time.monotonic()
            time.sleep(window)
            after = manager.cpu_times()
            elapsed = time.monotonic() - t0
            mem = manager.memory_full_info()
            cpu = (after.user + after.system - before.user - before.system) / elapsed
            return {"rss": mem.rss / MIB, "uss": mem.uss / MIB, "cpu": 100 * cpu}

    return measure


def run(ctx: Ctx) -> Figure:
    settle, window = ctx.scale(3, 0.5), ctx.scale(10, 1)
    measures = {
        GAIA_PLAIN: _measure(targets.GAIA_GUNICORN, False, settle, window),
        GAIA_TUI: _measure(targets.GAIA_GUNICORN, True, settle, window),
        targets.SUPERVISORD: _measure(targets.SUPERVISORD, False, settle, window),
        targets.CIRCUSD: _measure(targets.CIRCUSD, False, settle, window),
    }
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {"RSS": ("rss", " MiB"), "USS": ("uss", " MiB"), "CPU idle": ("cpu", " %")}
    fig = Figure(NUMBER, KEY, TITLE, list(columns))
    fig.rows = rows_from(results, columns)
    fig.notes.append(
        f"CPU over {window:g} s after {settle:g} s of settling; CPU % is of one core. The live "
        "table runs under script(1) so gaia sees a terminal. supervisord and circusd run the "
        "same gunicorn command (2 uvicorn workers)."
    )
    return fig
