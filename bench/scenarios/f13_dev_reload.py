"""Figure 13: dev mode, save the app's code -> the new code serving, against the reloaders
people use in development: `uvicorn --reload` and `granian --reload`.

Each target starts once and takes SAVES saves (v2, v3, ...); a sample is the median of
its saves, the cell the median over runs. One worker everywhere, as `gaia up --dev` runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from bench import probe, procs, targets
from bench.core import Ctx, Figure, Measure, NotAvailable, Sample, alternate, rows_from
from bench.peers import granian_bin

NUMBER = 13
KEY = "f13_dev_reload"
TITLE = "Dev mode: save the app's code -> new code serving (FastAPI, p50 of the saves)"

GAIA_DEV_UVICORN = "gaia up --dev (uvicorn)"
GAIA_DEV_GUNICORN = "gaia up --dev (gunicorn)"
UVICORN_RELOAD = "uvicorn --reload"
GRANIAN_RELOAD = "granian --reload"

Started = Callable[[Path], AbstractContextManager[int]]  # workdir -> the port serving


@contextmanager
def _gaia(kind: str, workdir: Path) -> Iterator[int]:
    with targets.serve(kind, workdir, targets.AppSpec(workers=1), extra=("--dev",)) as server:
        yield server.port


@contextmanager
def _bare(argv: Callable[[int], list[str]], workdir: Path) -> Iterator[int]:
    targets.copy_apps(workdir)
    port = procs.free_port()
    proc = procs.spawn(argv(port), workdir, workdir / "output.log", {"APP_VERSION": "v1"})
    try:
        probe.wait_http(port, targets.START_TIMEOUT)
        yield port
    finally:
        procs.stop(proc)


def _uvicorn(port: int) -> list[str]:
    return [
        str(procs.VENV_BIN / "uvicorn"),
        "hello:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--reload",
        "--no-access-log",
    ]


def _granian(port: int) -> list[str]:
    return [
        str(granian_bin() / "granian"),
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--reload",
        # Its output goes to a file in the watched directory: every write would reload.
        "--reload-ignore-patterns",
        r"\.log$",
        "--no-access-log",
        "hello:app",
    ]


def _measure(start: Started, saves: int, timeout: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        times: list[float] = []
        with start(workdir) as port:
            time.sleep(1.0)  # let the watcher start
            source = workdir / "hello.py"
            for n in range(2, saves + 2):
                t0 = time.monotonic()
                text = source.read_text()
                source.write_text(text.replace(f'VERSION = "v{n - 1}"', f'VERSION = "v{n}"'))
                try:
                    probe.wait_body(port, "/version", f"v{n} ", timeout, step=0.01)
                except TimeoutError:
                    why = f"save {n - 1}: new code not served in {timeout:g}s"
                    raise NotAvailable(why) from None
                times.append(time.monotonic() - t0)
                time.sleep(0.5)  # the reloader settles; the next save is a fresh event
        return {"p50": statistics.median(times), "max": max(times)}

    return measure


def run(ctx: Ctx) -> Figure:
    saves, timeout = int(ctx.scale(10, 2)), ctx.scale(30, 15)
    starts: dict[str, Started] = {
        GAIA_DEV_UVICORN: lambda w: _gaia(targets.GAIA_UVICORN, w),
        GAIA_DEV_GUNICORN: lambda w: _gaia(targets.GAIA_GUNICORN, w),
        UVICORN_RELOAD: lambda w: _bare(_uvicorn, w),
        GRANIAN_RELOAD: lambda w: _bare(_granian, w),
    }
    measures = {name: _measure(start, saves, timeout) for name, start in starts.items()}
    results = alternate(measures, ctx.runs, ctx.dir(KEY))
    columns = {"save -> new code (p50)": ("p50", " s"), "slowest save": ("max", " s")}
    fig = Figure(NUMBER, KEY, TITLE, list(columns))
    fig.rows = rows_from(results, columns)
    fig.notes.append(
        f"{saves} saves per run, 0.5 s apart, polled every 10 ms. Target: gaia below both "
        "reloaders. granian (with FastAPI) is installed into the peers venv, never into gaia's."
    )
    return fig
