"""Figure 11: the cost of gaia's per-request metrics: the same app under gaia with request
measurement on (the default) and off (`metrics = false`), interleaved in the same run."""

from __future__ import annotations

import time
from pathlib import Path

from bench import load, probe, procs, targets
from bench.core import Ctx, Figure, Measure, NotAvailable, Sample, alternate, ratio_stat, rows_from

NUMBER = 11
KEY = "f11_metrics"
TITLE = "Request metrics on vs off: hello FastAPI under gaia, 2 workers (wrk -t2 -c64)"

SERVERS = ("gunicorn", "uvicorn")


def _name(server: str, on: bool) -> str:
    return f"gaia ({server}), metrics {'on' if on else 'off'}"


def _measure(server: str, on: bool, seconds: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        if missing := load.missing_tools("wrk"):
            raise NotAvailable(f"{', '.join(missing)} not installed; {load.INSTALL_HINT}")
        port = procs.free_port()
        targets.copy_apps(workdir)
        app = targets.gaia_app(targets.AppSpec(), port, server, workdir)
        app["metrics"] = on
        config = workdir / "gaia.toml"
        config.write_text(targets.gaia_toml(workdir, {"web": app}))
        proc = procs.spawn(targets.gaia_argv(config), workdir, workdir / "output.log")
        try:
            probe.wait_http(port, targets.START_TIMEOUT)
            load.wrk(port, 1)  # warm-up: imports, first connections
            time.sleep(0.2)
            result = load.wrk(port, seconds)
        finally:
            procs.stop(proc)
        return {"rps": result.rps, "p99": result.p99_ms, "errors": float(result.errors)}

    return measure


def run(ctx: Ctx) -> Figure:
    seconds = ctx.scale(10, 2)
    measures = {
        _name(server, on): _measure(server, on, seconds)
        for server in SERVERS
        for on in (True, False)
    }
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {"req/s": ("rps", ""), "p99": ("p99", " ms"), "socket errors": ("errors", "")}
    ratio = "ratio on/off (req/s)"
    fig = Figure(NUMBER, KEY, TITLE, [*columns, ratio])
    fig.rows = rows_from(results, columns)
    for row in fig.rows:
        server = next(s for s in SERVERS if f"({s})" in row.target)
        row.cells[ratio] = (
            ratio_stat(results[row.target], results[_name(server, False)], "rps")
            if row.target == _name(server, True)
            else "-"
        )
    fig.notes.append(
        f"{seconds:g} s of wrk per run after a 1 s warm-up, runs interleaved (on, off, off, "
        "on, ...); ratios pair run i of each. Target: ratio >= 0.97."
    )
    return fig
