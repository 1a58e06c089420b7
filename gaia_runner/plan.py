"""What a config edit means for each app: the smallest change that gets there.

Pure: two configs in, a plan out. The runner prints the plan, then applies it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gaia_runner.config.model import AppConfig


class Action(StrEnum):
    UNCHANGED = "unchanged"
    SCALE = "scale"
    REPLACE = "replace"
    START = "start"
    STOP = "stop"


@dataclass(frozen=True)
class AppPlan:
    name: str
    action: Action
    changed: tuple[str, ...] = ()  # the keys that differ, for REPLACE
    workers: tuple[int, int] | None = None  # (old, new), for SCALE

    def describe(self) -> str:
        match self.action:
            case Action.SCALE:
                assert self.workers is not None
                old, new = self.workers
                return f"{self.name}: scale {old}->{new}"
            case Action.REPLACE:
                return f"{self.name}: replace ({', '.join(self.changed)} changed)"
        return f"{self.name}: {self.action.value}"


def changed_keys(old: AppConfig, new: AppConfig) -> tuple[str, ...]:
    return tuple(
        f.name for f in dataclasses.fields(new) if getattr(old, f.name) != getattr(new, f.name)
    )


def plan_app(
    old: AppConfig | None, new: AppConfig | None, name: str, touched: tuple[str, ...] = ()
) -> AppPlan:
    """`touched`: things outside the config that changed (a renewed TLS certificate)."""
    if old is None:
        return AppPlan(name, Action.START)
    if new is None:
        return AppPlan(name, Action.STOP)
    changed = changed_keys(old, new) + touched
    if not changed:
        return AppPlan(name, Action.UNCHANGED)
    if changed == ("workers",):
        return AppPlan(name, Action.SCALE, changed, (old.workers, new.workers))
    return AppPlan(name, Action.REPLACE, changed)


def plan_reload(
    running: Mapping[str, AppConfig],
    wanted: Mapping[str, AppConfig],
    touched: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[AppPlan, ...]:
    names = [*running, *(n for n in wanted if n not in running)]
    touched = touched or {}
    return tuple(plan_app(running.get(n), wanted.get(n), n, touched.get(n, ())) for n in names)
