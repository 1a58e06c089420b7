"""Figure 5: failed requests while a config change (an env var) is applied under load.

gaia: save gaia.toml. gunicorn: edit its config file, then HUP. uvicorn: HUP (it cannot
re-read options, so only the rolling restart is measured). supervisord: `supervisorctl
reread` + `update` (the only way to apply a changed environment=). circusd: `circusctl
reloadconfig` (a changed watcher is stopped and started again).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from bench import load, probe, targets
from bench.core import Ctx, Figure, Measure, Sample, alternate, rows_from

NUMBER = 5
KEY = "f5_config_change"
TITLE = "Config change (APP_VERSION v1 -> v2) under a steady 200 req/s load, no retries"


def _edit(path: Path) -> None:
    path.write_text(path.read_text().replace("v1", "v2"))


def _apply_gaia(server: targets.Server) -> None:
    _edit(server.config)


def _apply_gunicorn(server: targets.Server) -> None:
    _edit(server.config)
    os.kill(server.manager_pid, signal.SIGHUP)


def _apply_uvicorn(server: targets.Server) -> None:
    os.kill(server.manager_pid, signal.SIGHUP)


def _apply_supervisord(server: targets.Server) -> None:
    _edit(server.config)
    for command in ("reread", "update"):
        done = server.ctl(command)
        if done.returncode != 0:
            raise RuntimeError(f"supervisorctl {command}: {done.stdout}{done.stderr}")


def _apply_circusd(server: targets.Server) -> None:
    _edit(server.config)
    done = server.ctl("reloadconfig")
    if done.returncode != 0:
        raise RuntimeError(f"circusctl reloadconfig: {done.stdout}{done.stderr}")


APPLY: dict[str, tuple[str, Callable[[targets.Server], None]]] = {
    targets.GAIA_GUNICORN: ("gaia (gunicorn): save gaia.toml", _apply_gaia),
    targets.GAIA_UVICORN: ("gaia (uvicorn): save gaia.toml", _apply_gaia),
    targets.GUNICORN: ("gunicorn: edit conf + HUP", _apply_gunicorn),
    targets.UVICORN: ("uvicorn: HUP (options not re-read)", _apply_uvicorn),
    targets.SUPERVISORD: ("supervisord: reread + update", _apply_supervisord),
    targets.CIRCUSD: ("circusd: reloadconfig", _apply_circusd),
}


def _wait_new_workers(server: targets.Server, old: set[int], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pids = {w.pid for w in server.workers()}
        if pids and not pids & old:
            return time.monotonic() - start
        time.sleep(0.02)
    raise TimeoutError(f"workers not replaced within {timeout:g}s")


def _measure(kind: str, timeout: float, margin: float) -> Measure:
    apply = APPLY[kind][1]

    def measure(workdir: Path) -> Sample:
        with targets.serve(kind, workdir) as server, load.SteadyLoad(server.port) as steady:
            time.sleep(margin)
            old = {w.pid for w in server.workers()}
            t0 = time.monotonic()
            apply(server)
            if kind == targets.UVICORN:
                _wait_new_workers(server, old, timeout)
            else:
                probe.wait_body(server.port, "/version", " v2", timeout)
            applied = time.monotonic() - t0
            time.sleep(margin)
            counts = steady.stop()
        return {"failed": float(counts.failed), "total": float(counts.total), "applied": applied}

    return measure


def run(ctx: Ctx) -> Figure:
    timeout, margin = ctx.scale(30, 15), ctx.scale(1, 0.5)
    measures = {k: _measure(k, timeout, margin) for k in APPLY}
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {
        "failed requests": ("failed", ""),
        "requests sent": ("total", ""),
        "change -> new config serving": ("applied", " s"),
    }
    fig = Figure(NUMBER, KEY, TITLE, list(columns))
    fig.rows = rows_from({APPLY[k][0]: v for k, v in results.items()}, columns)
    fig.notes.append(
        "Each request is a fresh connection (Connection: close) with no retry, 4 threads "
        f"paced to 200 req/s; {margin:g} s of load before the change and {margin:g} s after it "
        "is visible. "
        "For uvicorn 'serving' means every worker was replaced. Target for gaia: 0 failed."
    )
    return fig
