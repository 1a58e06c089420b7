"""Figure 11: the cost of gaia's per-request metrics: the same app under gaia with request
measurement on (the default, with its slow-request and blocked-loop watchdog), on without
the watchdog (`slow_request = "off"`, `blocked_loop = "off"`), and off (`metrics = false`),
interleaved in the same run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench import load, probe, procs, targets
from bench.core import Ctx, Figure, Measure, NotAvailable, Sample, alternate, ratio_stat, rows_from

NUMBER = 11
KEY = "f11_metrics"
TITLE = "Request metrics on vs off: hello FastAPI under gaia, 2 workers (wrk -t2 -c64)"

SERVERS = ("gunicorn", "uvicorn")


MODES = ("on", "on, no watchdog", "off")


def _name(server: str, mode: str) -> str:
    return f"gaia ({server}), metrics {mode}"


def _measure(server: str, mode: str, seconds: float, warm_up: bool) -> Measure:
    def measure(workdir: Path) -> Sample:
        if missing := load.missing_tools("wrk"):
            raise NotAvailable(f"{', '.join(missing)} not installed; {load.INSTALL_HINT}")
        port = procs.free_port()
        targets.copy_apps(workdir)
        app = targets.gaia_app(targets.AppSpec(), port, server, workdir)
        app["metrics"] = mode != "off"
        if mode == "on, no watchdog":
            app["slow_request"] = app["blocked_loop"] = "off"
        config = workdir / "gaia.toml"
        config.write_text(targets.gaia_toml(workdir, {"web": app}))
        proc = procs.spawn(targets.gaia_argv(config), workdir, workdir / "output.log")
        try:
            probe.wait_http(port, targets.START_TIMEOUT)
            if warm_up:  # imports, first connections
                load.wrk(port, 1)
                time.sleep(0.2)
            result = load.wrk(port, seconds)
        finally:
            procs.stop(proc)
        return {"rps": result.rps, "p99": result.p99_ms, "errors": float(result.errors)}

    return measure


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


async def _per_request(app: Any, requests: int) -> float:
    scope = {"type": "http", "headers": [(b"host", b"x"), (b"user-agent", b"wrk")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    started = time.perf_counter()
    for _ in range(requests):
        await app(scope, receive, send)
    return (time.perf_counter() - started) / requests * 1e6


def _middleware_cost(requests: int) -> tuple[float, float, float]:
    """Microseconds a request for a minimal ASGI app awaited directly, bare, wrapped in
    gaia's middleware, and wrapped with the watchdog at its defaults (best of 3): the cost
    itself, which wrk on two shared cores cannot resolve at a few percent."""
    from gaia_runner.metrics.middleware import ASGIMetrics
    from gaia_runner.metrics.recorder import Recorder
    from gaia_runner.metrics.watchdog import Settings, Watchdog

    recorder = Recorder("bench")
    wrapped = ASGIMetrics(_hello, recorder)
    watchdog = Watchdog(
        Settings(10.0, False, 0.2), lambda lines: None, recorder.count_slow, recorder.count_blocked
    )
    watched = ASGIMetrics(_hello, recorder, watchdog)

    async def best() -> tuple[float, float, float]:
        bare = min([await _per_request(_hello, requests) for _ in range(3)])
        measured = min([await _per_request(wrapped, requests) for _ in range(3)])
        with_watchdog = min([await _per_request(watched, requests) for _ in range(3)])
        return bare, measured, with_watchdog

    return asyncio.run(best())


def run(ctx: Ctx) -> Figure:
    seconds = ctx.scale(10, 1)
    warm_up = not ctx.quick  # --quick only proves the figure runs
    measures = {
        _name(server, mode): _measure(server, mode, seconds, warm_up)
        for server in SERVERS
        for mode in MODES
    }
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {"req/s": ("rps", ""), "p99": ("p99", " ms"), "socket errors": ("errors", "")}
    ratio = "ratio to metrics off (req/s)"
    fig = Figure(NUMBER, KEY, TITLE, [*columns, ratio])
    fig.rows = rows_from(results, columns)
    for row in fig.rows:
        server = next(s for s in SERVERS if f"({s})" in row.target)
        row.cells[ratio] = (
            ratio_stat(results[row.target], results[_name(server, "off")], "rps")
            if row.target != _name(server, "off")
            else "-"
        )
    fig.notes.append(
        f"{seconds:g} s of wrk per run{' after a 1 s warm-up' if warm_up else ''}, runs "
        "interleaved (on, off, off, "
        "on, ...); ratios pair run i of each. Target: ratio >= 0.97, watchdog or not."
    )
    bare, wrapped, watched = _middleware_cost(int(ctx.scale(200_000, 20_000)))
    fig.notes.append(
        f"The middleware alone, in-process: {wrapped - bare:.1f} µs a request, "
        f"{watched - bare:.1f} µs with the watchdog (a minimal ASGI app awaited in a loop: "
        f"{bare:.2f} -> {wrapped:.2f} / {watched:.2f} µs, best of 3)."
    )
    return fig
