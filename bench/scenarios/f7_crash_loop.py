"""Figure 7: an app that raises at import. How much CPU does each manager burn on it?

All targets run at the same time (they are mostly idle or sleeping in a backoff; the one
that is not is the point of the figure). CPU is that of the manager's whole process tree,
including children that already exited (reaped children's time is added to their parent).
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback

from bench import procs, targets
from bench.core import Ctx, Figure, NotAvailable, rows_from

NUMBER = 7
KEY = "f7_crash_loop"
TITLE = "Crash loop: app raising at import, CPU burned by the whole tree"

log = logging.getLogger("bench")
SETTLE = 2.0

KINDS = (
    targets.GAIA_GUNICORN,
    targets.GAIA_UVICORN,
    targets.UVICORN,
    targets.GUNICORN,
    targets.SUPERVISORD,
    targets.CIRCUSD,
)


def run(ctx: Ctx) -> Figure:
    window = ctx.scale(60, 3)
    spec = targets.AppSpec(app="broken:app")
    results: dict[str, dict[str, list[float]] | str] = {k: {} for k in KINDS}
    for run_no in range(ctx.runs):
        log.info("  all targets at once (run %d/%d, %g s)", run_no + 1, ctx.runs, window)
        servers: dict[str, targets.Server] = {}
        with contextlib.ExitStack() as stack:
            for kind in KINDS:
                if isinstance(results[kind], str):
                    continue
                workdir = ctx.dir(f"{KEY}/{kind.replace(' ', '')}-{run_no}")
                try:
                    servers[kind] = stack.enter_context(
                        targets.serve(kind, workdir, spec, wait=False)
                    )
                except NotAvailable as exc:
                    results[kind] = f"n/a: {exc}"
                except Exception as exc:
                    log.debug("%s", traceback.format_exc())
                    results[kind] = f"error: {type(exc).__name__}: {exc}"
            time.sleep(SETTLE)
            before = {k: procs.tree_cpu_seconds(s.manager_pid) for k, s in servers.items()}
            t0 = time.monotonic()
            time.sleep(window)
            elapsed = time.monotonic() - t0
            for kind, server in servers.items():
                used = procs.tree_cpu_seconds(server.manager_pid) - before[kind]
                alive = server.proc.poll() is None
                sample = results[kind]
                assert isinstance(sample, dict)
                sample.setdefault("cpu", []).append(100 * used / elapsed)
                sample.setdefault("alive", []).append(1.0 if alive else 0.0)
        procs.sweep()
    fig = Figure(NUMBER, KEY, TITLE, ["CPU (% of one core)", "manager still running"])
    fig.rows = rows_from(results, {"CPU (% of one core)": ("cpu", " %")})
    for row in fig.rows:
        result = results[row.target]
        if isinstance(result, str):
            row.cells["manager still running"] = result
        else:
            row.cells["manager still running"] = "yes" if min(result["alive"]) else "no (exited)"
    fig.notes.append(
        f"CPU measured over {window:g} s, starting {SETTLE:g} s after launch. Target for gaia: "
        "< 5 % of one core. A manager that exits gives up on the app (gunicorn halts on an "
        "import error; supervisord marks it FATAL after startretries and keeps running)."
    )
    return fig
