"""depends_on at run time: may an app start now, and in which order apps stop.

Pure decisions over what gaia knows of each dependency (no clock, no processes), so
every case is unit-tested with plain values. The runner's StartGate asks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gaia_runner.config.depends import COMPLETED, SERVING
from gaia_runner.model.state import AppState

_STARTED = (AppState.STARTING, AppState.RUNNING)


@dataclass(frozen=True)
class Progress:
    """One supervised dependency now: its state, why, and whether it completed."""

    state: AppState
    is_command: bool
    completed: bool = False  # a one-shot command that exited 0 (record.py)
    detail: str = ""


def reached(condition: str, progress: Progress) -> bool:
    if condition == COMPLETED:
        return progress.completed
    if condition == SERVING and not progress.is_command:
        return progress.state is AppState.RUNNING
    # "started" (and "serving" of a command, which has no probe): its process was
    # spawned; a one-shot that already exited 0 started as well.
    return progress.state in _STARTED or progress.completed


def blocker(depends_on: Mapping[str, str], known: Mapping[str, Progress | None]) -> str | None:
    """None: the app may start now. Otherwise what it waits for, and why that is not
    coming by itself when a dependency is down (stopped, failed, exited non-zero)."""
    waits: list[str] = []
    for dep, condition in depends_on.items():
        if dep not in known:
            continue  # gone from the file by a live edit: nothing to wait for
        progress = known[dep]
        if progress is not None and reached(condition, progress):
            continue
        waits.append(f"{dep} ({condition}{_why_not(progress)})")
    return "waiting for " + ", ".join(waits) if waits else None


def _why_not(progress: Progress | None) -> str:
    if progress is None:
        return "; it is stopped: `gaia start` it"
    if progress.state in (AppState.FAILED, AppState.FATAL):
        detail = f": {progress.detail}" if progress.detail else ""
        return f"; it is {progress.state.value}{detail}"
    return ""


def stop_order(
    depends_on: Mapping[str, Mapping[str, str]], names: Iterable[str]
) -> list[list[str]]:
    """Groups stopped one after the other: each app stops before anything it depends on.
    Apps in one group stop at once. A cycle (refused by `gaia check`) ends the ordering:
    what is left stops together."""
    left = list(names)
    groups: list[list[str]] = []
    while left:
        needed = {dep for name in left for dep in depends_on.get(name, {}) if dep != name}
        group = [name for name in left if name not in needed] or left
        groups.append(group)
        left = [name for name in left if name not in group]
    return groups
