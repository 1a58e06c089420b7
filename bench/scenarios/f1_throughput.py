"""Figure 1: throughput and p99 of hello FastAPI, 2 workers, wrk on loopback; gaia/bare ratio."""

from __future__ import annotations

import time
from pathlib import Path

from bench import load, targets
from bench.core import (
    Ctx,
    Figure,
    Measure,
    NotAvailable,
    Row,
    Sample,
    alternate,
    ratio_stat,
    rows_from,
)

NUMBER = 1
KEY = "f1_throughput"
TITLE = "Throughput and p99 latency, hello FastAPI, 2 workers (wrk -t2 -c64)"


def _measure(kind: str, seconds: float, warm_up: bool) -> Measure:
    def measure(workdir: Path) -> Sample:
        if missing := load.missing_tools("wrk"):
            raise NotAvailable(f"{', '.join(missing)} not installed; {load.INSTALL_HINT}")
        with targets.serve(kind, workdir) as server:
            if warm_up:  # imports, first connections
                load.wrk(server.port, 1)
                time.sleep(0.2)
            result = load.wrk(server.port, seconds)
        return {"rps": result.rps, "p99": result.p99_ms, "errors": float(result.errors)}

    return measure


def run(ctx: Ctx) -> Figure:
    seconds = ctx.scale(10, 1)
    warm_up = not ctx.quick  # --quick only proves the figure runs
    kinds = [targets.GAIA_GUNICORN, targets.GUNICORN, targets.GAIA_UVICORN, targets.UVICORN]
    measures = {k: _measure(k, seconds, warm_up) for k in kinds}
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {"req/s": ("rps", ""), "p99": ("p99", " ms"), "socket errors": ("errors", "")}
    fig = Figure(NUMBER, KEY, TITLE, [*columns, "ratio gaia/bare (req/s)"])
    fig.rows = rows_from(results, columns)
    pairs = {
        targets.GAIA_GUNICORN: targets.GUNICORN,
        targets.GAIA_UVICORN: targets.UVICORN,
    }
    for row in fig.rows:
        bare = pairs.get(row.target)
        row.cells["ratio gaia/bare (req/s)"] = (
            ratio_stat(results[row.target], results[bare], "rps") if bare else "-"
        )
    fig.rows.append(_cross_row(results))
    fig.notes.append(
        f"{seconds:g} s of wrk per run{' after a 1 s warm-up' if warm_up else ''}; ratios pair "
        "runs that were "
        "interleaved (A B C D, D C B A, ...). Target: ratio >= 0.97."
    )
    return fig


def _cross_row(results: dict[str, dict[str, list[float]] | str]) -> Row:
    """gaia(gunicorn) against the bare uvicorn --workers 2 command many people run."""
    cell = ratio_stat(results[targets.GAIA_GUNICORN], results[targets.UVICORN], "rps")
    return Row(
        "gaia (gunicorn) vs bare uvicorn",
        {"req/s": "-", "p99": "-", "socket errors": "-", "ratio gaia/bare (req/s)": cell},
    )
