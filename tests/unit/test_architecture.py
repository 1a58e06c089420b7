"""The layout promises of the README's Architecture section, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import gaia_runner

ROOT = Path(gaia_runner.__file__).parent
MAX_LINES = 420  # "a few hundred lines": a module past this wants splitting


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every gaia_runner module `path` imports, at any depth of the file. `from pkg import
    sub` names the submodule, not the package."""
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module in modules:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            named = [s for s in subs if s in modules]
            edges |= set(named) if len(named) == len(subs) else {node.module, *named}
        elif isinstance(node, ast.Import):
            edges |= {a.name for a in node.names if a.name in modules}
    return edges


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = [*trail[trail.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_no_module_is_too_long() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in ROOT.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_catch_all_modules() -> None:
    names = {path.stem for path in ROOT.rglob("*.py")}
    assert not names & {"util", "utils", "common", "helpers", "misc"}
