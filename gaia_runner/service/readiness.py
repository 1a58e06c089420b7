"""What gaia tells systemd (`Type=notify`), decided from the same snapshots the status shows.

READY=1 once every app has settled: serving, or failed at boot. A failed app does not fail
the start: gaia keeps supervising the others (a restart of the unit would take them down
too), the STATUS= line names the failed ones, and `gaia status` says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.service.sd_notify import Notifier, notifier_from, watchdog_seconds

# Before READY=1, each tick asks systemd for this much more start time while apps are still
# on their way (prestart, starting, backoff): gaia's own timeouts bound those phases, and
# a frozen loop stops asking, so TimeoutStartSec= still ends a start that hangs.
EXTEND_SECONDS = 30.0
TICK = 1.0  # at most; a watchdog asks for at least two pings per period


def _settled(app: AppSnapshot) -> bool:
    return app.state in (AppState.RUNNING, AppState.FAILED, AppState.FATAL) or (
        app.state is AppState.STOPPED and app.stopped_by_request
    )


def status_line(snapshot: Snapshot) -> str:
    apps = [a for a in snapshot.apps if not a.stopped_by_request]
    serving = sum(1 for a in apps if a.state is AppState.RUNNING)
    line = f"{serving}/{len(apps)} apps serving"
    failed = [a.name for a in apps if a.state in (AppState.FAILED, AppState.FATAL)]
    waiting = [a.name for a in apps if not _settled(a)]
    stopped = len(snapshot.apps) - len(apps)
    if failed:
        line += f"; failed: {', '.join(failed)}"
    if waiting:
        line += f"; starting: {', '.join(waiting)}"
    if stopped:
        line += f"; {stopped} stopped by request"
    if snapshot.config_error is not None:
        line += "; last gaia.toml edit not applied"
    return line


@dataclass
class ServiceReport:
    notifier: Notifier | None
    snapshot: Callable[[], Snapshot]
    watchdog: float | None = None  # seconds; pings only when systemd asked for them
    clock: Callable[[], float] = time.monotonic  # CLOCK_MONOTONIC, as MONOTONIC_USEC wants
    ready: bool = False
    busy: bool = False  # reloading or stopping: READY=1 would end that state too early
    _status: str | None = field(default=None, repr=False)

    @property
    def tick(self) -> float:
        return TICK if self.watchdog is None else min(TICK, self.watchdog / 4)

    def _send(self, **fields: str) -> None:
        if self.notifier is not None:
            self.notifier.send(fields)

    def update(self) -> None:
        """One tick: ping the watchdog, report a new status, READY=1 once every app settled."""
        if self.notifier is None:
            return
        fields: dict[str, str] = {}
        if self.watchdog is not None:
            fields["WATCHDOG"] = "1"
        snapshot = self.snapshot()
        status = status_line(snapshot)
        if status != self._status and not self.busy:
            fields["STATUS"] = self._status = status
        if not self.ready and not self.busy:
            if all(_settled(a) for a in snapshot.apps):
                self.ready = True
                fields["READY"] = "1"
            else:
                fields["EXTEND_TIMEOUT_USEC"] = str(int(EXTEND_SECONDS * 1_000_000))
        if fields:
            self._send(**fields)

    async def run(self) -> None:
        """Runs on gaia's event loop: a loop frozen for a watchdog period gets no more pings,
        which is what the watchdog is for."""
        while True:
            self.update()
            await asyncio.sleep(self.tick)

    @contextlib.asynccontextmanager
    async def reloading(self) -> AsyncIterator[None]:
        # MONOTONIC_USEC: systemd >= 253 matches RELOADING=1 to the reload it asked for.
        self.busy = True
        usec = int(self.clock() * 1_000_000)
        self._send(RELOADING="1", MONOTONIC_USEC=str(usec), STATUS="reloading gaia.toml")
        try:
            yield
        finally:
            self.busy = False
            self._status = None  # the next tick reports the outcome
            if self.ready:
                self._send(READY="1")
            self.update()

    def stopping(self) -> None:
        self.busy = True
        self._send(STOPPING="1", STATUS="stopping every app")


def service_report(environ: Mapping[str, str], snapshot: Callable[[], Snapshot]) -> ServiceReport:
    """Reports to systemd when gaia runs as a `Type=notify` service; a silent one otherwise."""
    return ServiceReport(notifier_from(environ), snapshot, watchdog_seconds(environ))
