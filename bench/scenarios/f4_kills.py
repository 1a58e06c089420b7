"""Figure 4: SIGKILL a worker, then the server's master (and, for gaia, gaia itself).

Under a steady load (fresh connection per request, no retries) we count failed requests and
time how long until the app is served by a fresh process again. Bare gunicorn and uvicorn do
not restart a dead master and their workers outlive it: we count those orphans.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from bench import load, probe, procs, targets
from bench.core import Ctx, Figure, Measure, Sample, Stat, alternate, rows_from

NUMBER = 4
KEY = "f4_kills"
TITLE = "SIGKILL a worker, then the master, under a steady 200 req/s load"

GAIA_KINDS = (targets.GAIA_GUNICORN, targets.GAIA_UVICORN)


def _failed_between(counts: load.LoadCounts, start: float, end: float) -> float:
    return float(sum(1 for t, _ in counts.failures if start <= t <= end))


def _wait_workers(server: targets.Server, n: int, gone: set[int], timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pids = {w.pid for w in server.workers()}
        if len(pids) >= n and not pids & gone:
            return time.monotonic() - start
        time.sleep(0.01)
    return None


def _served_by_new(port: int, old: set[int], timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        body = probe.ok_body(port, "/pid", timeout=0.5)
        if body is not None and int(body) not in old:
            return time.monotonic() - start
        time.sleep(0.01)
    return None


def _kill_worker(
    server: targets.Server, counts: load.LoadCounts, sample: Sample, after: float
) -> None:
    workers = server.workers()
    victim = workers[0].pid
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced = _wait_workers(server, len(workers), {victim}, timeout=10)
    if replaced is not None:
        sample["worker_replaced"] = replaced
    time.sleep(after)
    sample["worker_failed"] = _failed_between(counts, t0, time.monotonic())


def _kill_master(
    server: targets.Server, counts: load.LoadCounts, sample: Sample, window: float, after: float
) -> None:
    master = server.master_pid()
    assert master is not None, "no server master found"
    old_workers = {w.pid for w in server.workers()}
    t0 = time.monotonic()
    os.kill(master, signal.SIGKILL)
    recovered = _served_by_new(server.port, old_workers, timeout=window)
    if recovered is not None:
        sample["master_recovered"] = recovered
    time.sleep(after)
    sample["master_failed"] = _failed_between(counts, t0, time.monotonic())
    sample["orphans"] = float(len(procs.alive(old_workers)))
    procs.kill_pids(procs.alive(old_workers))  # they are ours: never leave them serving


def _kill_gaia(server: targets.Server, sample: Sample, after: float) -> None:
    tree = {p.pid for p in procs.descendants(server.manager_pid)}
    os.kill(server.manager_pid, signal.SIGKILL)
    time.sleep(after)
    sample["gaia_survivors"] = float(len(procs.alive(tree)))


def _measure(kind: str, window: float, after: float, survivors_after: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        sample: Sample = {}
        with targets.serve(kind, workdir) as server, load.SteadyLoad(server.port) as steady:
            time.sleep(0.5)
            _kill_worker(server, steady.counts, sample, after)
            _kill_master(server, steady.counts, sample, window, after)
            steady.stop()
            if kind in GAIA_KINDS:
                _kill_gaia(server, sample, survivors_after)
        return sample

    return measure


def run(ctx: Ctx) -> Figure:
    window = ctx.scale(10, 3)
    # Failed requests are counted until `after` past the recovery; gaia's orphans after
    # `survivors_after`. --quick only proves the figure runs: shorter.
    after, survivors_after = ctx.scale(1, 0.5), ctx.scale(2, 1)
    kinds = [*GAIA_KINDS, targets.GUNICORN, targets.UVICORN, targets.SUPERVISORD]
    measures = {k: _measure(k, window, after, survivors_after) for k in kinds}
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {
        "worker kill: failed req": ("worker_failed", ""),
        "worker replaced in": ("worker_replaced", " s"),
        "master kill: failed req": ("master_failed", ""),
        "served by new process in": ("master_recovered", " s"),
        "orphaned workers": ("orphans", ""),
        "gaia SIGKILLed: survivors": ("gaia_survivors", ""),
    }
    fig = Figure(NUMBER, KEY, TITLE, list(columns))
    fig.rows = rows_from(results, columns)
    for row in fig.rows:
        cell = row.cells["served by new process in"]
        if not isinstance(cell, Stat) and not str(cell).startswith(("n/a:", "error")):
            row.cells["served by new process in"] = f"never within {window:g} s"
        if row.target not in GAIA_KINDS and row.cells["gaia SIGKILLed: survivors"] == "n/a":
            row.cells["gaia SIGKILLed: survivors"] = "-"
    fig.notes.append(
        "'master' is the gunicorn/uvicorn master (under gaia or supervisord: the manager's "
        f"child). 'orphaned workers' are old workers still alive {after:g} s after the master "
        "died or after a new process served. 'gaia SIGKILLed: survivors' counts gaia's "
        f"processes alive {survivors_after:g} s after `kill -9` of gaia itself. Failed requests "
        f"are counted from the kill to {after:g} s after recovery."
    )
    return fig
