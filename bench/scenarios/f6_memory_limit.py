"""Figure 6: a worker leaks past its memory limit; how long until it is recycled, and what
fails meanwhile under a steady load.

Each manager is judged by its own metric and its own fastest practical settings:
gaia `memory = { worker = "300MiB" }` (per-worker USS, 1 s interval, 3 samples: defaults);
circus ResourceWatcher (per-worker RSS, loop_rate 1 s, max_count 3, process_children);
superlance memmon on supervisord (cumulative RSS of the program's tree, TICK_5 events).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import psutil

from bench import load, peers, probe, procs, targets
from bench.core import (
    Cell,
    Ctx,
    Figure,
    Measure,
    NotAvailable,
    Row,
    Sample,
    alternate,
    rows_from,
)

NUMBER = 6
KEY = "f6_memory_limit"
TITLE = "Memory limit: leaking worker crosses 300 MiB -> recycled, under 200 req/s"

LIMIT_MIB = 300
LEAK_MB = 25
MIB = 1024 * 1024


def _over(server: targets.Server, kind: str) -> list[int]:
    """Pids over the limit by the manager's own measure (empty if none)."""
    master = server.master_pid()
    if master is None:
        return []
    workers = procs.workers_of(master)
    limit = LIMIT_MIB * MIB
    with contextlib.suppress(psutil.Error):
        if kind == targets.SUPERVISORD:
            tree = [psutil.Process(master), *workers]
            return [master] if sum(p.memory_info().rss for p in tree) > limit else []
        if kind == targets.CIRCUSD:
            return [w.pid for w in workers if w.memory_info().rss > limit]
        return [w.pid for w in workers if w.memory_full_info().uss > limit]
    return []


def _leak_until(port: int, stop: threading.Event, every: float) -> None:
    while not stop.is_set():
        probe.get(port, f"/leak?mb={LEAK_MB}", timeout=5)
        stop.wait(every)


def _measure(kind: str, timeout: float, every: float, after: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        spec = targets.AppSpec(memory_limit_mib=LIMIT_MIB)
        with targets.serve(kind, workdir, spec) as server, load.SteadyLoad(server.port) as steady:
            time.sleep(0.5)
            stop = threading.Event()
            leaker = threading.Thread(
                target=_leak_until, args=(server.port, stop, every), daemon=True
            )
            leaker.start()
            try:
                deadline = time.monotonic() + timeout
                while not (over := _over(server, kind)):
                    if time.monotonic() > deadline:
                        raise TimeoutError("the leak never crossed the limit")
                    time.sleep(0.05)
                crossed = time.monotonic()
            finally:
                stop.set()
                leaker.join(10)
            while procs.alive(over) or probe.ok_body(server.port, "/", 1) is None:
                if time.monotonic() - crossed > timeout:
                    raise TimeoutError(f"not recycled within {timeout:g}s of crossing the limit")
                time.sleep(0.05)
            recycled = time.monotonic() - crossed
            time.sleep(after)
            counts = steady.stop()
            failed = sum(1 for t, _ in counts.failures if t >= crossed)
        return {"recycle": recycled, "failed": float(failed)}

    return measure


def _pm2(_: Path) -> Sample:
    if peers.pm2() is None:
        raise NotAvailable("pm2 not installed (needs node/npm: npm install -g pm2)")
    raise NotAvailable("pm2 is installed but its column is not written yet")


def run(ctx: Ctx) -> Figure:
    timeout = ctx.scale(40, 30)
    # --quick only proves the figure runs: the leak reaches the limit sooner, a shorter tail.
    every, after = ctx.scale(0.2, 0.05), ctx.scale(1, 0.5)
    kinds = [targets.GAIA_GUNICORN, targets.GAIA_UVICORN, targets.SUPERVISORD, targets.CIRCUSD]
    measures: dict[str, Measure] = {k: _measure(k, timeout, every, after) for k in kinds}
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {"crossing -> recycled": ("recycle", " s"), "failed requests": ("failed", "")}
    fig = Figure(NUMBER, KEY, TITLE, list(columns))
    labels = {
        targets.SUPERVISORD: "supervisord + memmon",
        targets.CIRCUSD: "circusd + ResourceWatcher",
    }
    fig.rows = rows_from({labels.get(k, k): v for k, v in results.items()}, columns)
    try:
        _pm2(ctx.workdir)
    except NotAvailable as exc:
        cells: dict[str, Cell] = dict.fromkeys(columns, "n/a")
        cells["crossing -> recycled"] = f"n/a: {exc}"
        fig.rows.append(Row("pm2", cells))
    fig.notes.append(
        f"A side thread requests /leak?mb={LEAK_MB} every {every:g} s until the limit is "
        "crossed (by the manager's own measure), then stops. 'recycled' = the process over the "
        "limit is gone and the app answers again. Failed requests are counted from the crossing "
        f"to {after:g} s after that. Target for gaia: a few seconds, 0 failed."
    )
    return fig
