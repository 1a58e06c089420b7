"""Figure 2: cold start, from spawning the command to the first HTTP 200."""

from __future__ import annotations

import time
from pathlib import Path

from bench import probe, targets
from bench.core import Ctx, Figure, Measure, Sample, alternate, rows_from

NUMBER = 2
KEY = "f2_cold_start"
TITLE = "Cold start: command spawned -> first HTTP 200 (hello FastAPI, 2 workers)"


def _measure(kind: str) -> Measure:
    def measure(workdir: Path) -> Sample:
        with targets.serve(kind, workdir, wait=False) as server:
            probe.wait_http(server.port, 30, step=0.005)
            return {"start": time.monotonic() - server.started}

    return measure


def run(ctx: Ctx) -> Figure:
    kinds = [targets.GAIA_GUNICORN, targets.GUNICORN, targets.GAIA_UVICORN, targets.UVICORN]
    results = alternate(
        {k: _measure(k) for k in kinds}, ctx.runs if ctx.quick else ctx.runs + 2, ctx.dir(KEY)
    )
    fig = Figure(NUMBER, KEY, TITLE, ["to first 200"])
    fig.rows = rows_from(results, {"to first 200": ("start", " s")})
    fig.notes.append("Polled every 5 ms with a fresh connection; includes interpreter start.")
    return fig
