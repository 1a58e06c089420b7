"""The layout promises of the README's Architecture section, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import gaia_runner

ROOT = Path(gaia_runner.__file__).parent


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


# From bottom to top; the docstring of test_imports_run_down_the_layers says why.
LAYERS: list[set[str]] = [
    {"gaia_runner", "config", "model"},
    {"statedir", "inotify", "logs", "metrics", "server_patches", "install_trust", "service"},
    {"process", "dev", "view"},
    {"supervise", "export"},
    {
        "runner",
        "operations",
        "adaptive_workers",
        "subscribers",
        "start_gate",
        "answers",
        "desired",
        "plan",
        "control",
        "loop_events",
        "watch",
        "watch_targets",
        "config_on_disk",
        "discover",
        "pidfile",
    },
    {"cli", "top", "__main__"},
]
# The view renders snapshots: besides itself it reads the model, the output streams it
# writes to (logs), and the windows the metrics are measured over (metrics.store).
VIEW_READS = {"view", "model", "logs", "metrics.store"}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer(module: str) -> int:
    found = [i for i, layer in enumerate(LAYERS) if _part(module) in layer]
    assert found, f"{module} sits in no layer: place it in LAYERS (test_architecture.py)"
    return found[0]


def test_imports_run_down_the_layers() -> None:
    """Imports run down LAYERS, never up: a module may import its own layer or one below.
    Where each part sits, and why:
    - config, model: what gaia.toml says, and the state machine and snapshot model (neutral:
      view, supervise, metrics and control all read it, it reads nothing of theirs);
    - statedir, inotify, logs, metrics, server_patches, install_trust, service: private files
      in the state dir; changes in a directory (logs follow rotations with it); app log files
      and gaia's own output streams; measuring apps (whose hooks run inside the servers);
      every patch of uvicorn's internals, which metrics and process both use; what gaia
      tells systemd (ready, status, watchdog), decided from the model's snapshots alone;
    - process, dev, view: process trees and server launchers; dev mode's warm start (the
      uvicorn launcher records imports for it, its standby is a process: one layer); the
      screen, which reads only the model (test below);
    - supervise, export: one app's life over its process trees; exported files, which map
      the config onto the same launch commands;
    - runtime: the runner and what it composes (desired state, plans, operations, the control
      socket's server and client, its typed answers (answers) and `subscribe` streams
      (subscribers), adaptive workers (adaptive_workers: they read the metrics and scale
      through the desired state), depends_on's start gate (start_gate: it holds apps back
      across supervisors, reading the desired state), config watching, discovery of a
      running gaia);
    - cli, top: the commands, the only code that exits; `gaia top`'s screen, a client of the
      control socket like the commands.
    Inside a part: depends_on's graph is config (config.depends), its pure start and stop
    order decisions are supervise (supervise.ordering), adaptive workers' policy is
    supervise (supervise.adaptive), spawning off the event loop and the host's headroom are
    process (process.off_loop, process.headroom), the Kubernetes names, Ingress and
    autoscaler are export (export.kube_names, export.ingress, export.autoscaler).
    """
    modules = _modules()
    upward = [
        f"{name} -> {imported}"
        for name, path in modules.items()
        for imported in _imports(path, modules)
        if _layer(imported) > _layer(name)
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(sorted(upward))


def test_view_reads_only_the_model() -> None:
    modules = _modules()
    outside = [
        f"{name} -> {imported}"
        for name, path in modules.items()
        if _part(name) == "view"
        for imported in _imports(path, modules)
        if not any(
            imported == f"gaia_runner.{r}" or imported.startswith(f"gaia_runner.{r}.")
            for r in VIEW_READS
        )
    ]
    assert not outside, "the view reads more than the model:\n" + "\n".join(sorted(outside))


def test_no_catch_all_modules() -> None:
    names = {path.stem for path in ROOT.rglob("*.py")}
    assert not names & {"util", "utils", "common", "helpers", "misc"}
