"""`depends_on`: which apps must reach which condition before an app starts.

Written as process-compose and Compose users expect: an array of names (each
"started"), or a table of name = condition. The value check and the rules that span
apps (unknown names, self, cycles, `completed` on an app that never completes) live
here; the runtime decision is gaia_runner/supervise/ordering.py.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from gaia_runner.config.reporter import Reporter

STARTED, SERVING, COMPLETED = "started", "serving", "completed"
CONDITIONS = (STARTED, SERVING, COMPLETED)
DEFAULT_CONDITION = STARTED  # Compose's and process-compose's default as well


def depends_on(v: object) -> dict[str, str]:
    """The value check: an array of app names, or a table of app name = condition."""
    if isinstance(v, list):
        if not all(isinstance(name, str) for name in v):
            raise ValueError("expected an array of app names")
        return dict.fromkeys(v, DEFAULT_CONDITION)
    if not isinstance(v, dict):
        raise ValueError(  # noqa: TRY004 (the schema reports ValueError as a problem)
            'expected an array of app names (["migrate"]) or a table of conditions '
            '({ migrate = "completed", api = "serving" })'
        )
    for name, condition in v.items():
        if condition not in CONDITIONS:
            raise ValueError(
                f"{name}: condition {condition!r}: expected one of {', '.join(CONDITIONS)}"
            )
    return dict(v)


def check_depends(apps: Mapping[str, object], report: Reporter) -> None:
    """Every dependency names another app of the file that can reach its condition,
    and no chain of them comes back to where it started."""
    graph: dict[str, dict[str, str]] = {}
    for name, app in apps.items():
        if not isinstance(app, dict) or "depends_on" not in app:
            continue
        try:
            graph[name] = depends_on(app["depends_on"])
        except ValueError:
            continue  # the type check has reported it
        here = ("apps", name, "depends_on")
        for dep, condition in graph[name].items():
            problem = _dependency_problem(name, dep, condition, apps)
            if problem is not None:
                report.error(here, problem)
    for cycle in _cycles(graph):
        report.error(
            ("apps", cycle[0], "depends_on"),
            f"depends_on cycle: {' -> '.join(cycle)} (none of these apps could ever start)",
        )


def _dependency_problem(
    name: str, dep: str, condition: str, apps: Mapping[str, object]
) -> str | None:
    if dep == name:
        return f"{name} depends on itself"
    target = apps.get(dep)
    if target is None:
        close = difflib.get_close_matches(dep, [n for n in apps if n != name], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (apps: {', '.join(apps)})"
        return f"no app named {dep!r}{hint}"
    if condition != COMPLETED or not isinstance(target, dict):
        return None
    if "command" not in target:
        return (
            f'{dep} is a web app: it serves until stopped and never completes; use "serving" '
            "(or move the one-shot work to a `command` app or to `prestart`)"
        )
    if target.get("restart", "always") == "always":
        return (
            f'{dep} has restart = "always": it is run again after it exits 0 and never '
            'stays completed; set restart = "on-failure" or "never" on it'
        )
    return None


def _cycles(graph: Mapping[str, Mapping[str, str]]) -> list[list[str]]:
    """Each cycle once, as the path that closes it (a -> b -> a), in file order."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    done: set[str] = set()

    def visit(name: str, path: Sequence[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                found.append(cycle)
            return
        if name in done:
            return
        for dep in graph.get(name, {}):
            if dep != name:  # a self-dependency is reported on its own
                visit(dep, [*path, name])
        done.add(name)

    for start in graph:
        visit(start, [])
    return found
