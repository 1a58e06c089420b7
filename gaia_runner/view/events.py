"""gaia's own events (state changes, plans, rejections) also go to state_dir/logs/gaia.log,
so a detached gaia, or one whose terminal scrolled away, can still be asked what happened."""

from __future__ import annotations

from collections.abc import Sequence

from gaia_runner.logs.applog import AppLog, timestamp
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.view.display import Display

EVENT_LOG = "gaia"


def no_forward(app: str, source: str, lines: Sequence[str]) -> None:
    pass


class QuietDisplay:
    """`gaia up -d`: nothing on screen; the log files are the output."""

    shows_status = False

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def log_line(self, app: str, source: str, line: str) -> None:
        pass

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        pass

    def event(self, message: str) -> None:
        pass

    def update(self, snapshot: Snapshot) -> None:
        pass


class EventLog:
    """A Display that hands everything on and writes events to gaia.log as well."""

    def __init__(self, inner: Display, log: AppLog) -> None:
        self.inner = inner
        self.log = log

    @property
    def shows_status(self) -> bool:
        return self.inner.shows_status

    def start(self) -> None:
        self.inner.start()

    def stop(self) -> None:
        self.inner.stop()
        self.log.close()

    def log_line(self, app: str, source: str, line: str) -> None:
        self.inner.log_line(app, source, line)

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        self.inner.log_lines(app, source, lines)

    def event(self, message: str) -> None:
        self.log.write("", message)
        self.inner.event(message)

    def update(self, snapshot: Snapshot) -> None:
        self.inner.update(snapshot)


class Timestamped:
    """`gaia up --timestamps`: every line on screen starts with its ISO 8601 time, as in
    the log files."""

    def __init__(self, inner: Display) -> None:
        self.inner = inner

    @property
    def shows_status(self) -> bool:
        return self.inner.shows_status

    def start(self) -> None:
        self.inner.start()

    def stop(self) -> None:
        self.inner.stop()

    def log_line(self, app: str, source: str, line: str) -> None:
        self.log_lines(app, source, [line])

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        stamp = timestamp()
        self.inner.log_lines(app, source, [f"{stamp} {line}" for line in lines])

    def event(self, message: str) -> None:
        self.inner.event(f"{timestamp()} {message}")

    def update(self, snapshot: Snapshot) -> None:
        self.inner.update(snapshot)
