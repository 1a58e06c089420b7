"""Figure 15: a burst against a sync app: gaia adaptive (workers = { min = 1, max = 4 })
against gaia fixed at min and at max, and uWSGI's cheaper subsystem (issue 24)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from bench import probe, procs, targets, uwsgi
from bench.burst import burst
from bench.core import Ctx, Figure, Measure, Sample, alternate, rows_from
from gaia_runner.adaptive_workers import PERIOD
from gaia_runner.config.model import WorkersRange

NUMBER = 15
KEY = "f15_adaptive"
TITLE = "Adaptive workers: idle, burst, idle; the handler blocks 20 ms (sync app, and ASGI)"

MIB = 1024 * 1024
MIN, MAX = 1, 4
DEFAULTS = WorkersRange(min=MIN, max=MAX)  # the tuning a user rarely changes, as gaia reads it
TICK = 0.1  # how often the worker count is read (worker-seconds, back to min)


class _Counter:
    """Counts the server's workers every TICK: worker-seconds, and when it is back at MIN."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(TICK):
            self.samples.append((time.monotonic(), len(procs.workers_of(self.master))))

    def __enter__(self) -> _Counter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def worker_seconds(self) -> float:
        pairs = zip(self.samples, self.samples[1:], strict=False)
        return sum(n * (t1 - t0) for (t0, n), (t1, _) in pairs)

    def back_to_min_after(self, since: float) -> float | None:
        """Seconds from `since` to the start of the last stretch at MIN, if it ends there."""
        at = None
        for t, n in self.samples:
            if t >= since:
                at = (at if at is not None else t) if n <= MIN else None
        return None if at is None else at - since


def _gaia_workers(workers: Any, quick: bool) -> Any:
    if isinstance(workers, int) or not quick:
        return workers
    # --quick: a shorter quiet period so the idle phase is short and still ends at min.
    return {**workers, "down_after": "1s"}


def _master_of(proc: subprocess.Popen[bytes], timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in procs.descendants(proc.pid):
            try:
                if "gunicorn" in " ".join(child.cmdline()):
                    return child.pid
            except psutil.Error:
                continue
        time.sleep(0.05)
    raise RuntimeError("gaia's gunicorn master not found")


def _tree_rss(master: int) -> float:
    rss = 0
    for proc in [psutil.Process(master), *procs.workers_of(master)]:
        try:
            rss += proc.memory_info().rss
        except psutil.Error:
            continue
    return rss / MIB


def _measure(kind: str, setting: Any, phases: tuple[float, float, float], clients: int) -> Measure:
    idle, busy, after = phases

    def measure(workdir: Path) -> Sample:
        targets.copy_apps(workdir)
        port = procs.free_port()
        if kind in ("gaia", "gaia-asgi"):
            config = workdir / "gaia.toml"
            asgi = kind == "gaia-asgi"
            app = {
                "app": "sleepy_asgi:app" if asgi else "sleepy:application",
                "server": "gunicorn",
                "worker_class": "uvicorn" if asgi else "sync",
                "workers": setting,
                "bind": f"127.0.0.1:{port}",
                "cwd": str(workdir),
            }
            config.write_text(targets.gaia_toml(workdir, {"web": app}))
            argv = targets.gaia_argv(config)
        else:
            argv = uwsgi.argv(setting, port, workdir)
        proc = procs.spawn(argv, workdir, workdir / "output.log")
        try:
            probe.wait_http(port, targets.START_TIMEOUT)
            master = proc.pid if kind == "uwsgi" else _master_of(proc)
            sample = _run(port, master, idle, busy, after, clients)
            began, ended = sample.pop("began"), sample.pop("ended")
            if kind != "uwsgi":
                log = workdir / ".gaia" / "logs" / "gaia.log"
                sample.update(_gaia_stages(log, began, ended))
            return sample
        finally:
            procs.stop(proc, timeout=30)

    return measure


def _gaia_stages(log: Path, began: float, ended: float) -> Sample:
    """From gaia's event log (millisecond timestamps): when it decided to add workers, and
    how many times it held them back (a saturated CPU, memory) during the burst."""
    stages: Sample = {"held": 0.0}
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return stages
    for line in lines:
        stamp, _, message = line.partition(" ")
        try:
            at = datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            continue
        if not began <= at <= ended:
            continue
        if "decided" not in stages and re.search(r"web: \d+ -> \d+ workers:", message):
            stages["decided"] = at - began
        if "workers held:" in message:
            stages["held"] += 1
    return stages


def _run(port: int, master: int, idle: float, busy: float, after: float, clients: int) -> Sample:
    with _Counter(master) as counter:
        time.sleep(idle)
        known = {str(p.pid) for p in procs.workers_of(master)}
        began = time.time()  # wall clock: gaia's event log is stamped with it
        result = burst(port, clients, busy, known)
        stopped = time.monotonic()
        time.sleep(after)
    sample: Sample = {
        "p50": 1000 * result.quantile(0.5),
        "p99": 1000 * result.quantile(0.99),
        "failed": float(result.failed),
        "worker_s": counter.worker_seconds(),
        "end": float(counter.samples[-1][1]) if counter.samples else 0.0,
        "rss": _tree_rss(master),
        "began": began,
        "ended": began + busy,
    }
    if result.first_new_pid_at is not None:
        sample["first_added"] = result.first_new_pid_at
    if (back := counter.back_to_min_after(stopped)) is not None and max(
        n for _, n in counter.samples
    ) > MIN:
        sample["back"] = back
    return sample


QUICK_SKIPS = (
    f"gaia fixed {MIN}",
    "uWSGI cheaper busyness",
    f"ASGI: gaia fixed {MIN}",
)


def run(ctx: Ctx) -> Figure:
    phases = (ctx.scale(10, 0.5), ctx.scale(30, 3), ctx.scale(30, 6))
    clients = 16
    adaptive = {"min": MIN, "max": MAX}
    setups: dict[str, tuple[str, Any]] = {
        f"gaia fixed {MIN}": ("gaia", MIN),
        f"gaia fixed {MAX}": ("gaia", MAX),
        f"gaia adaptive {MIN}-{MAX}": ("gaia", _gaia_workers(adaptive, ctx.quick)),
        "uWSGI cheaper backlog": ("uwsgi", "backlog"),
        "uWSGI cheaper busyness": ("uwsgi", "busyness"),
        f"ASGI: gaia fixed {MIN}": ("gaia-asgi", MIN),
        f"ASGI: gaia fixed {MAX}": ("gaia-asgi", MAX),
        f"ASGI: gaia adaptive {MIN}-{MAX}": ("gaia-asgi", _gaia_workers(adaptive, ctx.quick)),
    }
    if ctx.quick:  # a smoke run: every kind of row once, and what the targets compare
        setups = {name: setup for name, setup in setups.items() if name not in QUICK_SKIPS}
    measures = {
        name: _measure(kind, setting, phases, clients) for name, (kind, setting) in setups.items()
    }
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {
        "burst p50": ("p50", " ms"),
        "burst p99": ("p99", " ms"),
        "failed": ("failed", ""),
        "gaia decided to add": ("decided", " s"),
        "first added worker serves": ("first_added", " s"),
        "holds": ("held", ""),
        "worker-seconds": ("worker_s", ""),
        "workers at end": ("end", ""),
        "back to min after load": ("back", " s"),
        "RSS at end (tree)": ("rss", " MiB"),
    }
    fig = Figure(NUMBER, KEY, TITLE, list(columns))
    fig.rows = rows_from(results, columns)
    cores = len(os.sched_getaffinity(0))
    idle, busy, after = phases
    fig.notes += [
        f"{cores} cores. {idle:g} s idle, {busy:g} s of {clients} closed-loop clients (each "
        f"sends its next request when the last one answers, fresh connection, no retries), "
        f"{after:g} s idle. gunicorn sync workers; the handler sleeps 20 ms (I/O, not CPU).",
        f"gaia adaptive: workers = {{ min = 1, max = 4 }}, defaults up_after = "
        f"{DEFAULTS.up_after:g}s, step = {DEFAULTS.step}, "
        + (
            f"down_after = 1s (--quick only; default {DEFAULTS.down_after:g}s)"
            if ctx.quick
            else f"down_after = {DEFAULTS.down_after:g}s"
        )
        + f"; the accept queue read every {PERIOD * 1000:g} ms; the CPU check is on "
        "(a saturated CPU holds workers back, and says so).",
        "uWSGI 2.0 --http-socket --master --processes 4 --cheaper 1 --cheaper-initial 1, "
        "step 1: backlog mode adds a worker when >= 4 connections wait (--cheaper-overload 4); "
        "busyness mode checks every 1 s, adds above 50% busy or a backlog of 4, removes "
        "below 25% after 5 cycles.",
        "gaia decided to add: from the burst's start to gaia's first scale-up event (its "
        "log's timestamps); holds: events where gaia held workers back (a saturated CPU "
        "or memory) during the burst. "
        "first added worker serves: from the burst's start to the first answer from a pid "
        "that was not a worker before it. back to min: from the load's end to the last "
        "stretch at 1 worker (n/a when it never left 1 or never came back). RSS: master "
        "and workers at the end, gaia itself not counted.",
        "ASGI rows: gunicorn with uvicorn workers; the handler holds the event loop 20 ms "
        "(a sync call in `async def`): the loop lags and, blocked, stops accepting, so the "
        "accept queue is what gaia sees first.",
        _targets(results, ""),
        _targets(results, "ASGI: "),
    ]
    return fig


def _median(result: dict[str, list[float]] | str, key: str) -> float | None:
    if isinstance(result, str) or not result.get(key):
        return None
    values = sorted(result[key])
    return values[len(values) // 2]


def _check(what: str, value: float | None, met: bool, shown: str) -> str:
    return f"{what}: " + ("n/a" if value is None else f"{'met' if met else 'NOT met'} ({shown})")


def _targets(results: dict[str, dict[str, list[float]] | str], variant: str) -> str:
    """The issue's targets for gaia adaptive, checked on the medians of this run."""
    ada = results[f"{variant}gaia adaptive {MIN}-{MAX}"]
    top = results[f"{variant}gaia fixed {MAX}"]
    failed, first, back = (_median(ada, key) for key in ("failed", "first_added", "back"))
    p99, p99_max = _median(ada, "p99"), _median(top, "p99") or 0.0
    ws, ws_max = _median(ada, "worker_s"), _median(top, "worker_s") or 0.0
    checks = [
        _check("0 failed", failed, failed == 0, f"{failed:g}" if failed is not None else ""),
        _check(
            "first added worker serves <= 1 s after the burst starts (the queue is at once)",
            first,
            first is not None and first <= 1,
            f"{first or 0:.2f} s",
        ),
        _check(
            "burst p99 <= 1.2x fixed-max",
            p99 if p99_max else None,
            p99 is not None and p99 <= 1.2 * p99_max,
            f"{(p99 or 0) / (p99_max or 1):.2f}x",
        ),
        _check(
            "back to min <= 30 s after the load",
            back,
            back is not None and back <= 30,
            f"{back or 0:.1f} s",
        ),
        _check(
            "fewer worker-seconds than fixed-max",
            ws if ws_max else None,
            ws is not None and ws < ws_max,
            f"{ws or 0:.0f} vs {ws_max:.0f}",
        ),
    ]
    return f"Targets for {variant}gaia adaptive (issue 24): " + "; ".join(checks) + "."
