"""What a scenario returns, and the common runner: alternating runs, median/min/max."""

from __future__ import annotations

import logging
import statistics
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("bench")

Sample = dict[str, float]
Measure = Callable[[Path], Sample]


class NotAvailable(Exception):
    """This cell cannot be measured here (tool missing, feature not landed): the reason."""


@dataclass
class Stat:
    samples: list[float]
    unit: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, object]:
        return {
            "median": self.median,
            "min": min(self.samples),
            "max": max(self.samples),
            "n": len(self.samples),
            "unit": self.unit,
            "samples": self.samples,
        }

    def __str__(self) -> str:
        med = _num(self.median)
        if len(self.samples) == 1 or min(self.samples) == max(self.samples):
            return f"{med}{self.unit}"
        return f"{med}{self.unit} ({_num(min(self.samples))}-{_num(max(self.samples))})"


def _num(x: float) -> str:
    if abs(x) < 5e-4:
        return "0"  # also avoids "-0.000" from clock rounding
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) >= 0.1 else f"{x:.3f}"


Cell = Stat | str


@dataclass
class Row:
    target: str
    cells: dict[str, Cell]


@dataclass
class Figure:
    number: int
    key: str
    title: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "ok"  # or "n/a: why" when the whole figure could not run

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "title": self.title,
            "status": self.status,
            "columns": self.columns,
            "rows": [
                {
                    "target": row.target,
                    "values": {
                        col: cell.to_json() if isinstance(cell, Stat) else cell
                        for col, cell in row.cells.items()
                    },
                }
                for row in self.rows
            ],
            "notes": self.notes,
        }


def alternate(
    targets: Mapping[str, Measure], runs: int, workdir: Path
) -> dict[str, dict[str, list[float]] | str]:
    """Run every target `runs` times, interleaved (ABC, CBA, ...) so drift hits all alike.

    A target that raises NotAvailable (or fails) becomes a reason string, and is not retried.
    """
    from bench import procs

    samples: dict[str, dict[str, list[float]]] = {name: {} for name in targets}
    failed: dict[str, str] = {}
    order = list(targets)
    for run in range(runs):
        for name in order if run % 2 == 0 else order[::-1]:
            if name in failed:
                continue
            rundir = workdir / f"{_slug(name)}-{run}"
            rundir.mkdir(parents=True, exist_ok=True)
            log.info("  %s (run %d/%d)", name, run + 1, runs)
            try:
                sample = targets[name](rundir)
            except NotAvailable as exc:
                failed[name] = f"n/a: {exc}"
            except Exception as exc:
                log.debug("%s failed:\n%s", name, traceback.format_exc())
                failed[name] = f"error: {type(exc).__name__}: {exc}".splitlines()[0][:240]
            else:
                for key, value in sample.items():
                    samples[name].setdefault(key, []).append(value)
            finally:
                if leaked := procs.sweep():
                    log.warning("  %s left %d processes behind; killed them", name, len(leaked))
    return {name: failed.get(name) or samples[name] for name in targets}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()


def rows_from(
    results: Mapping[str, dict[str, list[float]] | str],
    columns: Mapping[str, tuple[str, str]],
) -> list[Row]:
    """columns: displayed name -> (sample key, unit). Missing keys become "n/a"."""
    rows = []
    for target, result in results.items():
        cells: dict[str, Cell] = {}
        for col, (key, unit) in columns.items():
            if isinstance(result, str):
                cells[col] = result
            elif key in result:
                cells[col] = Stat(result[key], unit)
            else:
                cells[col] = "n/a"
        rows.append(Row(target, cells))
    return rows


def ratio_stat(
    num: dict[str, list[float]] | str, den: dict[str, list[float]] | str, key: str
) -> Cell:
    """Median of per-run ratios: run i of one target is paired with run i of the other."""
    if isinstance(num, str) or isinstance(den, str) or key not in num or key not in den:
        return "n/a"
    pairs = [a / b for a, b in zip(num[key], den[key], strict=False) if b]
    return Stat(pairs, "x") if pairs else "n/a"


@dataclass(frozen=True)
class Ctx:
    """What every scenario gets: scale, how many alternating runs, where to put files."""

    quick: bool
    runs: int
    workdir: Path

    def scale(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path
