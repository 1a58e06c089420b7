"""The start gate: an app with depends_on is started only once its dependencies got there.

Until then the app has no supervisor, only a row in the table (state `waiting`, and
what for). The gate re-decides whenever an app changes state (and on the runner's
display tick, as a backstop), with the pure decisions of supervise/ordering.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gaia_runner.config.model import AppConfig
from gaia_runner.desired import DesiredState, StartupError
from gaia_runner.model.snapshot import AppSnapshot
from gaia_runner.model.state import AppState
from gaia_runner.supervise.ordering import Progress, blocker, stop_order
from gaia_runner.supervise.record import AppRecord


class StartGate:
    def __init__(
        self,
        launch: Callable[[AppConfig], None],
        desired: DesiredState,
        records: Mapping[str, AppRecord],
        event: Callable[[str], None],
    ) -> None:
        self._launch = launch
        self._desired = desired
        self._records = records  # the runner's supervisors, by name
        self._event = event
        self.waiting: dict[str, str] = {}  # name -> what it waits for
        self._closed = False
        self._deciding = False

    def offer(self, app: AppConfig) -> None:
        """Start `app` now if its dependencies allow, or as soon as they do."""
        if not self._closed:
            self.waiting.setdefault(app.name, "")
            self.check()

    def close(self) -> None:
        """gaia is stopping: nothing waiting starts any more."""
        self._closed = True
        self.waiting.clear()

    def check(self) -> None:
        if self._deciding or not self.waiting:
            return
        self._deciding = True  # a launch reports events, which call back here
        try:
            self._decide()
        finally:
            self._deciding = False

    def _decide(self) -> None:
        try:
            wanted = self._desired.apps()
        except StartupError:
            return
        known = {name: self.progress(name) for name in self._desired.config.apps}
        for name in list(self.waiting):
            app = wanted.get(name)
            if app is None or name in self._records:  # stopped, removed, or started
                del self.waiting[name]
                continue
            reason = blocker(app.depends_on, known)
            if reason is None:
                del self.waiting[name]
                self._launch(app)
            elif reason != self.waiting[name]:
                self.waiting[name] = reason
                self._event(f"{name}: {reason}")

    def progress(self, name: str) -> Progress | None:
        record = self._records.get(name)
        if record is None:
            return None
        return Progress(record.state, record.app.is_command, record.completed, record.detail)

    def row(self, name: str) -> AppSnapshot | None:
        """The table's row for a waiting app; None if it is not waiting."""
        if name not in self.waiting:
            return None
        app = self._desired.config.apps[name]
        return config_row(app, AppState.WAITING, detail=self.waiting[name] or None)

    def stop_groups(self) -> list[list[str]]:
        """The running apps in stop order: dependents before what they depend on."""
        graph = {name: record.app.depends_on for name, record in self._records.items()}
        return stop_order(graph, list(self._records))


def config_row(app: AppConfig, state: AppState, **fields: Any) -> AppSnapshot:
    """The row of an app without a supervisor (waiting, stopped by request): from its config."""
    return AppSnapshot(
        name=app.name,
        server="command" if app.command is not None else app.server.value,
        state=state,
        workers_desired=app.workers,
        urls=tuple(bind.url(app.is_https) for bind in app.bind),
        **fields,
    )
