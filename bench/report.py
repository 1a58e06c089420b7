"""Markdown on stdout, JSON on disk."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.core import Cell, Figure, Row, Stat


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def figure_markdown(fig: Figure) -> str:
    lines = [f"### {fig.number}. {fig.title}", ""]
    if fig.status != "ok":
        return "\n".join([*lines, f"**{fig.status}**", ""])
    lines.append("| target | " + " | ".join(fig.columns) + " |")
    lines.append("|---" * (len(fig.columns) + 1) + "|")
    for row in fig.rows:
        cells = [_escape(str(row.cells.get(col, ""))) for col in fig.columns]
        lines.append(f"| {_escape(row.target)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"_{_escape(note)}_" for note in fig.notes]
    lines.append("")
    return "\n".join(lines)


def markdown(figures: Iterable[Figure], machine: Mapping[str, object], header: str) -> str:
    versions = machine.get("versions", {})
    assert isinstance(versions, dict)
    parts = [
        f"## {header}",
        "",
        f"Machine: {machine.get('cores_logical')} cores ({machine.get('cpu_model')}), "
        f"{machine.get('memory_gib')} GiB, Python {machine.get('python')}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "Cells are median (min-max) over the runs; one value means one run or no spread.",
        "",
    ]
    parts += [figure_markdown(fig) for fig in figures]
    return "\n".join(parts)


def write_json(path: Path, payload: Mapping[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def figures_from_json(payload: Mapping[str, Any]) -> list[Figure]:
    """Rebuild figures from a results file, to print its table again (`--render FILE`)."""
    figures = []
    for key, data in payload["figures"].items():
        fig = Figure(data["number"], key, data["title"], data["columns"], status=data["status"])
        fig.notes = list(data["notes"])
        for row in data["rows"]:
            cells: dict[str, Cell] = {
                col: Stat(v["samples"], v["unit"]) if isinstance(v, dict) else v
                for col, v in row["values"].items()
            }
            fig.rows.append(Row(row["target"], cells))
        figures.append(fig)
    return figures
