"""Figure 8: save -> new config serving (gaia.toml), and `gaia up --dev`: save -> new code."""

from __future__ import annotations

import time
from pathlib import Path

from bench import probe, targets
from bench.core import Ctx, Figure, Measure, NotAvailable, Sample, alternate, rows_from

NUMBER = 8
KEY = "f8_reload"
TITLE = "Save a file -> the new version serving (no load)"


def _config(kind: str, timeout: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        with targets.serve(kind, workdir) as server:
            time.sleep(0.5)
            t0 = time.monotonic()
            server.config.write_text(server.config.read_text().replace("v1", "v2"))
            try:
                probe.wait_body(server.port, "/version", " v2", timeout)
            except TimeoutError:
                raise NotAvailable(f"new env not served within {timeout:g}s") from None
            return {"applied": time.monotonic() - t0}

    return measure


def _dev(kind: str, timeout: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        with targets.serve(kind, workdir, extra=("--dev",)) as server:
            time.sleep(1.0)  # let the watcher start
            source = workdir / "hello.py"
            t0 = time.monotonic()
            source.write_text(source.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
            try:
                probe.wait_body(server.port, "/version", "v2 ", timeout)
            except TimeoutError:
                raise NotAvailable(
                    f"new code not served within {timeout:g}s (dev reload not landed, or a bug)"
                ) from None
            return {"applied": time.monotonic() - t0}

    return measure


def run(ctx: Ctx) -> Figure:
    timeout = ctx.scale(30, 15)
    measures = {
        "gaia (gunicorn): save gaia.toml (env)": _config(targets.GAIA_GUNICORN, timeout),
        "gaia (uvicorn): save gaia.toml (env)": _config(targets.GAIA_UVICORN, timeout),
        "gaia --dev (gunicorn): save app code": _dev(targets.GAIA_GUNICORN, timeout),
        "gaia --dev (uvicorn): save app code": _dev(targets.GAIA_UVICORN, timeout),
    }
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    fig = Figure(NUMBER, KEY, TITLE, ["save -> new version serving"])
    fig.rows = rows_from(results, {"save -> new version serving": ("applied", " s")})
    fig.notes.append(
        "Polled every 20 ms. Includes gaia's debounce (0.3 s) and the start of the new "
        "workers; gaia keeps the old generation serving until the new one answers."
    )
    return fig
