"""`python -m bench [--quick] [--only 1,4] [--runs N] [--json-out FILE] [--render FILE]`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import load, machine, procs, report, targets
from bench.core import Ctx, Figure
from bench.scenarios import load_all

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench")


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every figure once, small scale")
    parser.add_argument("--runs", type=int, help="alternating runs per figure (default 3, quick 1)")
    parser.add_argument("--only", help="comma-separated figure numbers, e.g. 1,4")
    parser.add_argument("--json-out", type=Path, help="JSON path (default bench/results/<ts>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--render", type=Path, help="print the table of a results JSON and exit")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def _run_one(module: object, ctx: Ctx) -> Figure:
    number, key, title = module.NUMBER, module.KEY, module.TITLE  # type: ignore[attr-defined]
    log.info("figure %d: %s", number, title)
    started = time.monotonic()
    try:
        fig: Figure = module.run(ctx)  # type: ignore[attr-defined]
    except Exception as exc:
        log.warning("figure %d failed:\n%s", number, traceback.format_exc())
        fig = Figure(number, key, title, [], status=f"n/a: {type(exc).__name__}: {exc}")
    finally:
        if leaked := procs.sweep():
            log.warning("figure %d left %d processes; killed them", number, len(leaked))
    log.info("figure %d done in %.0f s", number, time.monotonic() - started)
    return fig


def _render(path: Path) -> int:
    payload = json.loads(path.read_text())
    mode, runs = payload["mode"], payload["runs"]
    started = dt.datetime.fromisoformat(payload["started"])
    header = f"gaia benchmarks, {mode} run ({runs} run(s) per figure), {started:%Y-%m-%d %H:%M} UTC"
    print(report.markdown(report.figures_from_json(payload), payload["machine"], header))
    return 0


def _compile_gaia() -> None:
    """Measure gaia as installed. A wheel install writes bytecode for every module, as
    pip did for gunicorn and uvicorn; an editable checkout run with PYTHONDONTWRITEBYTECODE
    (set on the development machine) would compile gaia's ~90 modules from source in gaia
    and in every server process it starts: ~50 ms of each start that no user pays."""
    import compileall

    import gaia_runner

    compileall.compile_dir(Path(gaia_runner.__file__).parent, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.render is not None:
        return _render(args.render)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    if missing := load.missing_tools("wrk", "hey"):
        log.warning("missing %s: those columns will be n/a; %s", missing, load.INSTALL_HINT)
    runs = args.runs or (1 if args.quick else 3)
    _compile_gaia()
    targets.START_TIMEOUT = 15.0 if args.quick else 30.0
    wanted = {int(n) for n in args.only.split(",")} if args.only else None
    workdir = Path(tempfile.mkdtemp(prefix="gaia-bench-"))
    ctx = Ctx(quick=args.quick, runs=runs, workdir=workdir)
    started = dt.datetime.now(dt.UTC)
    figures: list[Figure] = []
    try:
        for module in load_all():
            if wanted is None or module.NUMBER in wanted:
                figures.append(_run_one(module, ctx))
    finally:
        procs.sweep()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    info = machine.describe()
    mode = "quick" if args.quick else "full"
    header = f"gaia benchmarks, {mode} run ({runs} run(s) per figure), {started:%Y-%m-%d %H:%M} UTC"
    print(report.markdown(figures, info, header))
    out = args.json_out or RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    report.write_json(
        out,
        {
            "started": started.isoformat(),
            "mode": mode,
            "runs": runs,
            "machine": info,
            "figures": {fig.key: fig.to_json() for fig in figures},
        },
    )
    log.info("JSON written to %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
