"""Figure 9: many small apps in one gaia.toml: start time, and what gaia itself costs."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil

from bench import probe, procs, targets
from bench.core import Ctx, Figure, Measure, Sample, alternate, rows_from

NUMBER = 9
KEY = "f9_scale"
TITLE = "Scale: N tiny ASGI apps (uvicorn, 1 worker each) in one gaia.toml"

MIB = 1024 * 1024


def _measure(n: int, window: float, settle: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        targets.copy_apps(workdir)
        ports = [procs.free_port() for _ in range(n)]
        spec = targets.AppSpec(app="tiny:app", workers=1, env={})
        apps = {
            f"app{i:02d}": targets.gaia_app(spec, port, "uvicorn", workdir)
            for i, port in enumerate(ports)
        }
        config = workdir / "gaia.toml"
        config.write_text(targets.gaia_toml(workdir, apps))
        t0 = time.monotonic()
        proc = procs.spawn(targets.gaia_argv(config), workdir, workdir / "output.log")
        try:
            return _observe(proc, ports, t0, window, settle)
        finally:
            procs.stop(proc, timeout=30)

    return measure


def _observe(
    proc: subprocess.Popen[bytes], ports: list[int], t0: float, window: float, settle: float
) -> Sample:
    deadline = t0 + 2 * targets.START_TIMEOUT
    for port in ports:
        probe.wait_http(port, max(0.1, deadline - time.monotonic()))
    started = time.monotonic() - t0
    time.sleep(settle)
    gaia = psutil.Process(proc.pid)
    before, c0 = gaia.cpu_times(), time.monotonic()
    time.sleep(window)
    after = gaia.cpu_times()
    cpu = (after.user + after.system - before.user - before.system) / (time.monotonic() - c0)
    mem = gaia.memory_full_info()
    return {"start": started, "cpu": 100 * cpu, "rss": mem.rss / MIB, "uss": mem.uss / MIB}


def run(ctx: Ctx) -> Figure:
    window, settle = ctx.scale(10, 1), ctx.scale(2, 0.5)
    # --quick: no 20-app row (starting 20 interpreters is most of this figure's time; figure 14
    # runs 200 apps in one gaia anyway).
    counts = (1, 5) if ctx.quick else (1, 5, 20)
    measures = {f"{n} app{'s' if n > 1 else ''}": _measure(n, window, settle) for n in counts}
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {
        "start -> all serving": ("start", " s"),
        "gaia CPU idle": ("cpu", " %"),
        "gaia RSS": ("rss", " MiB"),
        "gaia USS": ("uss", " MiB"),
    }
    fig = Figure(NUMBER, KEY, TITLE, list(columns))
    fig.rows = rows_from(results, columns)
    fig.notes.append(
        f"gaia's own process only (not the apps); CPU over {window:g} s, {settle:g} s after all "
        "apps answered. On this 2-core machine, starting 20 interpreters is CPU-bound."
    )
    return fig
