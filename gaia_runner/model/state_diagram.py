"""The state diagram and event -> edge table of docs/architecture.md, generated from
TRANSITIONS and the `# A -> B: why` comment written above each edge in state.py.

Regenerate with ``python -m gaia_runner.model.state_diagram --write docs/architecture.md``;
a unit test fails while the page and the table disagree.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

from gaia_runner.model import state
from gaia_runner.model.state import TRANSITIONS, AppState

BEGIN = "<!-- BEGIN state diagram (generated) -->"
END = "<!-- END state diagram (generated) -->"

_EDGE = re.compile(r"^\s*# ([A-Z]+(?: / [A-Z]+)*) -> ([A-Z]+(?: / [A-Z]+)*): (.*)$")
_MORE = re.compile(r"^\s*# (.*)$")


def edge_reasons() -> list[tuple[list[AppState], list[AppState], str]]:
    """Each commented edge group in state.py: its sources, targets and the reason given.

    A reason runs on over the comment lines below it, up to the next edge or code line."""
    found: list[tuple[list[AppState], list[AppState], str]] = []
    open_reason = False
    for line in inspect.getsource(state).splitlines():
        edge, more = _EDGE.match(line), _MORE.match(line)
        if edge:
            sources = [AppState[n] for n in edge.group(1).split(" / ")]
            targets = [AppState[n] for n in edge.group(2).split(" / ")]
            found.append((sources, targets, edge.group(3)))
            open_reason = True
        elif more and open_reason:
            sources, targets, why = found[-1]
            found[-1] = (sources, targets, f"{why} {more.group(1)}")
        else:
            open_reason = False
    return found


def mermaid() -> list[str]:
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> stopped"]
    for source, targets in TRANSITIONS.items():
        for target in sorted(targets, key=list(AppState).index):
            lines.append(f"    {source.value} --> {target.value}")
    lines.append("```")
    return lines


def event_table() -> list[str]:
    lines = ["| Edge | Event |", "|---|---|"]
    for sources, targets, why in edge_reasons():
        edge = f"{' / '.join(s.name for s in sources)} -> {' / '.join(t.name for t in targets)}"
        lines.append(f"| {edge} | {why} |")
    return lines


def block() -> str:
    body = [
        BEGIN,
        "",
        *mermaid(),
        "",
        "What moves an app along each edge:",
        "",
        *event_table(),
        "",
        END,
    ]
    return "\n".join(body)


def replace_block(page: str) -> str:
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the page has no {BEGIN} ... {END} markers")
    return page[:start] + block() + page[end + len(END) :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="rewrite the marked part of this page")
    args = parser.parse_args()
    if args.write is None:
        sys.stdout.write(block() + "\n")
        return
    args.write.write_text(replace_block(args.write.read_text()))


if __name__ == "__main__":
    main()
