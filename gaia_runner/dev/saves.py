"""Dev mode: which file changes are saves that reload an app.

Prestart (migrate, collectstatic) runs when the app starts, not on every save: it made
each save cost seconds, and what it wrote into the app directory looked like another
save. inotify cannot say who wrote a file, so a change counts only if some file in it was
modified outside the app's last prestart run (its mtime says when); the watcher also
ignores the state dir and the usual output directories (watch.IGNORED_DIRS).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

from gaia_runner.config.model import AppConfig

T = TypeVar("T")


class PrestartWindow:
    """When an app's prestart last ran, by the wall clock (the clock of file mtimes)."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.end: float | None = None  # None while it runs

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self.start, self.end = time.time(), None
        try:
            yield
        finally:
            self.end = time.time()

    async def around(self, work: Awaitable[T]) -> T:
        with self.running():
            return await work

    def wrote(self, path: Path) -> bool:
        if self.start is None:
            return False
        try:
            modified = path.stat().st_mtime
        except OSError:
            return False  # deleted: not something prestart left behind
        return self.start <= modified and (self.end is None or modified <= self.end)

    def saved(self, paths: Iterable[Path]) -> bool:
        return any(not self.wrote(path) for path in paths)


class WatchedApp(Protocol):
    @property
    def prestart_window(self) -> PrestartWindow: ...

    @property
    def app(self) -> AppConfig: ...


class CodeSaves:
    """The watcher's callback: an event line, a reload per app, and once per app with
    prestart steps the hint that a save does not run them."""

    def __init__(
        self,
        event: Callable[[str], None],
        reload: Callable[[str], None],
        app: Callable[[str], WatchedApp | None],
    ) -> None:
        self._event, self._reload, self._app = event, reload, app
        self._hinted: set[str] = set()

    def __call__(self, names: list[str], paths: set[Path]) -> None:
        found = {name: self._app(name) for name in names}
        saved = [n for n, app in found.items() if app is None or app.prestart_window.saved(paths)]
        if not saved:
            return
        self._event(f"gaia: code changed ({', '.join(sorted(p.name for p in paths)[:3])})")
        for name in saved:
            self._reload(name)
            app = found[name]
            if app is not None and app.app.prestart and name not in self._hinted:
                self._hinted.add(name)
                hint = f"prestart is not rerun on a save; `gaia restart {name}` runs it"
                self._event(f"gaia: {name}: {hint}")
