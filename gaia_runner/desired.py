"""What gaia is asked to run: the applied gaia.toml plus the operator's overrides, in
one object.

The runner reconciles its supervisors against this, the way gunicorn's arbiter
reconciles `num_workers`: a reload, `gaia stop`/`start`/`scale`/`restart` and a
dev-mode save each change or read the desired state first, so what an app is told
to run always comes from here, never from the generation that happens to serve
(which may be the old one while a replace is under way: issue 19.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gaia_runner.config import derive
from gaia_runner.config.model import AppConfig, GaiaConfig, WorkersRange


class StartupError(Exception):
    """Nothing could start: every reason, one per line."""


class UnknownApps(StartupError):
    pass


def select_apps(config: GaiaConfig, only: Sequence[str]) -> dict[str, AppConfig]:
    unknown = [name for name in only if name not in config.apps]
    if unknown:
        known = ", ".join(config.apps)
        raise UnknownApps(f"no app named {', '.join(unknown)} in {config.source} (apps: {known})")
    # As `docker compose up NAME`: an app comes with what it depends on.
    chosen, todo = set(only), list(only)
    while todo:
        new = [d for d in config.apps[todo.pop()].depends_on if d not in chosen]
        todo.extend(d for d in new if d in config.apps)
        chosen.update(new)
    return {n: a for n, a in config.apps.items() if not only or n in chosen}


@dataclass(frozen=True)
class Scaled:
    """`gaia scale`: `workers` holds while the file still says `in_file` for the app."""

    in_file: int
    workers: int
    range_in_file: WorkersRange | None = None  # `workers = { min, max }`: its range


def _holds(scale: Scaled, app: AppConfig) -> bool:
    return (app.workers, app.workers_range) == (scale.in_file, scale.range_in_file)


@dataclass(frozen=True)
class ScaleChange:
    was: int  # the workers the app was last asked to run
    workers: int
    in_file: int


@dataclass
class DesiredState:
    config: GaiaConfig
    """The applied file: what the last accepted reload (or `gaia up`) read."""
    only: tuple[str, ...] = ()
    dev: bool = False
    stopped: set[str] = field(default_factory=set)
    """Apps stopped by `gaia stop`; they stay stopped across reloads until `gaia start`."""
    scaled: dict[str, Scaled] = field(default_factory=dict)
    adaptive: dict[str, int] = field(default_factory=dict)
    """The count adaptive workers chose, for apps with `workers = { min, max }` (the
    range's `min` until the first change); `gaia scale` pins over it."""

    # -- reading -------------------------------------------------------------------------

    def known(self) -> list[str]:
        return list(select_apps(self.config, self.only))

    def apps(self, config: GaiaConfig | None = None) -> dict[str, AppConfig]:
        """Every app that should run and exactly how: for the applied file, or for a
        candidate file a reload is planning (the overrides apply to both)."""
        file_apps = select_apps(config or self.config, self.only)
        return {n: self._wanted(n, a) for n, a in file_apps.items() if n not in self.stopped}

    def app(self, name: str) -> AppConfig | None:
        """The config `name` was last asked to run; None while it is stopped by request.
        One app's work, not every app's: samplers ask this of each app several times a
        second."""
        file_app = self.config.apps.get(name)
        if file_app is None or name in self.stopped:
            return None
        if self.only and name not in select_apps(self.config, self.only):
            return None
        return self._wanted(name, file_app)

    def _wanted(self, name: str, file_app: AppConfig) -> AppConfig:
        app = derive.dev_variant(file_app) if self.dev else file_app
        limits, count = file_app.workers_range, self.adaptive.get(name)
        if limits is not None and count is not None:
            app = derive.with_workers(app, min(max(count, limits.min), limits.max))
        scale = self.scaled.get(name)
        if scale is not None and _holds(scale, file_app):
            app = derive.with_workers(app, scale.workers)
        return app

    def workers_in_file(self, name: str) -> int | None:
        """The file's value, shown beside an app that `gaia scale` changed."""
        return self.config.apps[name].workers if name in self.scaled else None

    def adapts(self, name: str) -> WorkersRange | None:
        """The range adaptive workers keep `name` in; None: a fixed or pinned count."""
        app = self.config.apps.get(name)
        if app is None or name in self.scaled or name in self.stopped:
            return None
        return app.workers_range

    # -- changing ------------------------------------------------------------------------

    def adopt(self, config: GaiaConfig) -> None:
        """A reload was applied. Requests about apps the file no longer has are forgotten;
        a scale ends when the file's own workers value for that app changes."""
        self.config = config
        self.stopped &= set(config.apps)
        self.scaled = {
            n: s for n, s in self.scaled.items() if n in config.apps and _holds(s, config.apps[n])
        }
        self.adaptive = {
            n: c
            for n, c in self.adaptive.items()
            if n in config.apps and config.apps[n].workers_range is not None
        }

    def stop(self, names: Iterable[str]) -> None:
        self.stopped.update(names)

    def start(self, names: Iterable[str]) -> list[str]:
        """The names that were stopped by request, now wanted again."""
        starting = [n for n in names if n in self.stopped]
        self.stopped.difference_update(starting)
        return starting

    def scale(self, name: str, workers: int | None) -> ScaleChange:
        """`workers` None: `gaia scale NAME auto`, back to what the file says (adaptive
        workers start from the pinned count: dropping to their last under load would
        queue requests until they add workers again)."""
        was = self.apps()[name].workers
        app = self.config.apps[name]
        if workers is None or (workers == app.workers and app.workers_range is None):
            self.scaled.pop(name, None)
            if workers is None and app.workers_range is not None:
                self.adaptive[name] = was
        else:
            self.scaled[name] = Scaled(app.workers, workers, app.workers_range)
        return ScaleChange(was, self.apps()[name].workers, app.workers)

    def adapt(self, name: str, workers: int) -> None:
        """Adaptive workers chose a new count for `name`."""
        self.adaptive[name] = workers
