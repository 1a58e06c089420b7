"""What a config edit means for each app: the smallest change that gets there.

Pure: two configs in, a plan out. Each changed key applies as the settings table
says (in place, scale, roll the workers, replace); the app does the heaviest, and
the plan names how each key was applied. The runner prints the plan, then applies it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gaia_runner.config.model import AppConfig, ServerKind
from gaia_runner.config.settings import APP_KEYS, Apply

TLS_FILES = "TLS files"
"""What `touched` names when a TLS file's contents changed under the same path."""


class Action(StrEnum):
    UNCHANGED = "unchanged"
    ADJUST = "in place"
    SCALE = "scale"
    ROLL = "roll workers"
    REPLACE = "replace"
    START = "start"
    STOP = "stop"


@dataclass(frozen=True)
class AppPlan:
    name: str
    action: Action
    changed: tuple[str, ...] = ()  # the keys that differ
    workers: tuple[int, int] | None = None  # (old, new), when workers changed
    modes: tuple[Apply, ...] = ()  # how each changed key applies, in `changed` order

    @property
    def reruns_prestart(self) -> bool:
        return self.action is Action.REPLACE

    def rolls_by_signal(self, app: AppConfig, dev: bool) -> bool:
        """The serving master can replace its workers on HUP (same master, no prestart):
        for renewed TLS files (each new worker reads them), and for what gunicorn reads
        from its config file, which it re-reads on HUP. Not uvicorn's options (its HUP
        re-reads none), an app run as another user (its config is handed over once, as
        an fd), `https` itself (gaia's probe trusts the files), nor dev mode's warm start."""
        if self.action is not Action.ROLL:
            return False
        rolled = {
            key for key, mode in zip(self.changed, self.modes, strict=True) if mode == Apply.ROLL
        }
        if rolled == {TLS_FILES}:
            return True
        return (
            rolled <= _GUNICORN_REREADS
            and app.server is ServerKind.GUNICORN
            and app.command is None
            and app.user is None
            and not dev
        )

    def describe(self) -> str:
        if self.action is Action.SCALE:
            assert self.workers is not None
            old, new = self.workers
            return f"{self.name}: scale {old}->{new}"
        if not self.changed:
            return f"{self.name}: {self.action.value}"
        keyed = tuple(zip(self.changed, self.modes, strict=True))
        heaviest, *lighter = sorted(set(self.modes), reverse=True)
        parts = [", ".join(k for k, m in keyed if m == heaviest) + " changed"]
        for mode in lighter:
            parts.append(", ".join(k for k, m in keyed if m == mode) + f": {mode.words}")
        return f"{self.name}: {self.action.value} ({'; '.join(parts)})"


def changed_keys(old: AppConfig, new: AppConfig) -> tuple[str, ...]:
    return tuple(
        f.name for f in dataclasses.fields(new) if getattr(old, f.name) != getattr(new, f.name)
    )


# Model fields that a settings key fills, beside the key's own field.
_KEY_OF = {"workers_auto": "workers", "workers_range": "workers"}


def _mode(key: str) -> Apply:
    return Apply.ROLL if key == TLS_FILES else APP_KEYS[_KEY_OF.get(key, key)].apply


_ACTIONS = {Apply.ROLL: Action.ROLL, Apply.REPLACE: Action.REPLACE}
_GUNICORN_REREADS = {
    TLS_FILES,
    *("timeout", "graceful_timeout", "max_requests", "max_requests_jitter", "threads"),
    *("access_log", "forwarded_allow_ips", "gunicorn", "metrics"),
}


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
    modes = tuple(_mode(key) for key in changed)
    workers = (old.workers, new.workers) if "workers" in changed else None
    heaviest = max(modes)
    light = Action.SCALE if changed == ("workers",) else Action.ADJUST
    action = _ACTIONS.get(heaviest, light)
    return AppPlan(name, action, changed, workers, modes)


def plan_reload(
    running: Mapping[str, AppConfig],
    wanted: Mapping[str, AppConfig],
    touched: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[AppPlan, ...]:
    names = [*running, *(n for n in wanted if n not in running)]
    touched = touched or {}
    return tuple(plan_app(running.get(n), wanted.get(n), n, touched.get(n, ())) for n in names)
