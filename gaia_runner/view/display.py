"""The output side of `gaia up`: plain lines, or (view/live.py, loaded only on a terminal)
app logs scrolling above a live status table."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Literal, Protocol, cast

from gaia_runner.logs.writer import stdout_output, write_text
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.view.clean import MAX_LINE_CHARS, prefix, printable_block, printable_lines

if TYPE_CHECKING:
    from rich.console import Console

GAIA = "gaia"
__all__ = [
    "MAX_LINE_CHARS",
    "DeferredDisplay",
    "Display",
    "PlainDisplay",
    "make_display",
    "prefix",
    "printable_block",
    "printable_lines",
]


class Display(Protocol):
    # False: update() ignores snapshots, so nobody needs to build one twice a second.
    @property
    def shows_status(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def log_line(self, app: str, source: str, line: str) -> None: ...

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None: ...

    def event(self, message: str) -> None: ...

    def update(self, snapshot: Snapshot) -> None: ...


class PlainDisplay:
    """One `name | line` per line, for CI logs and journald, where a live table is noise.

    gaia's real stdout is a QueuedOutput (logs/writer.py): written by a thread, so a sink
    that is full, closed or not being read costs lines on screen, never the apps, their log
    files or gaia itself. Any other stream (a test's) is written directly.
    """

    shows_status = False

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.dropped = 0  # lines a direct stream refused

    def start(self) -> None:
        pass

    def stop(self) -> None:
        # A QueuedOutput's flush never waits; its bounded flush comes at exit.
        with contextlib.suppress(OSError, ValueError):
            self._stream_or_stdout().flush()

    def update(self, snapshot: Snapshot) -> None:
        pass

    def log_line(self, app: str, source: str, line: str) -> None:
        self.log_lines(app, source, [line])

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        self._write(prefix(app, source), lines)

    def event(self, message: str) -> None:
        self._write(GAIA, [message])

    def _stream_or_stdout(self) -> IO[str]:
        # Looked up late so that a test's (or pytest's) replaced sys.stdout is honoured.
        return self._stream if self._stream is not None else sys.stdout

    def _write(self, name: str, texts: Sequence[str]) -> None:
        head = f"{name} | "
        block = printable_block(texts)
        text = head + block.replace("\n", f"\n{head}") + "\n"
        with self._lock:
            try:
                write_text(self._stream_or_stdout(), text)
            except (OSError, ValueError):
                self.dropped += block.count("\n") + 1


class DeferredDisplay:
    """A display created on its first status update (or at stop), so that importing Rich
    (~70 ms) comes after the apps were spawned, not before (issue 13). Output until then
    is queued and replayed in order."""

    shows_status = True

    def __init__(self, create: Callable[[], Display]) -> None:
        self._create = create
        self._inner: Display | None = None
        self._queued: list[Callable[[Display], None]] = []
        self._started = False
        self._lock = threading.Lock()

    def _ready(self, first: Snapshot | None = None) -> Display:
        with self._lock:
            if self._inner is None:
                inner = self._create()
                if self._started:
                    inner.start()
                if first is not None:
                    # The table first: it fixes the width of the name column for every line.
                    inner.update(first)
                for call in self._queued:
                    call(inner)
                self._queued.clear()
                self._inner = inner
            return self._inner

    def _send(self, call: Callable[[Display], None]) -> None:
        # Log lines come through here all the time: once created, no lock.
        inner = self._inner
        if inner is None:
            with self._lock:
                if self._inner is None:
                    self._queued.append(call)
                    return
                inner = self._inner
        call(inner)

    def start(self) -> None:
        with self._lock:
            self._started = True
            inner = self._inner
        if inner is not None:
            inner.start()

    def stop(self) -> None:
        self._ready().stop()

    def update(self, snapshot: Snapshot) -> None:
        self._ready(snapshot).update(snapshot)

    def log_line(self, app: str, source: str, line: str) -> None:
        self._send(lambda d: d.log_line(app, source, line))

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        self._send(lambda d: d.log_lines(app, source, lines))

    def event(self, message: str) -> None:
        self._send(lambda d: d.event(message))


def make_display(
    mode: Literal["auto", "tui", "plain"],
    console: Console | None = None,
    logs: str = "state_dir/logs",
) -> Display:
    """Pick the display; with a console given, output goes to that console's file, else
    to gaia's stdout through a writer thread (`logs` is named when lines are dropped)."""
    out = console.file if console is not None else cast(IO[str], stdout_output(logs))
    terminal = console.is_terminal if console is not None else out.isatty()
    if mode == "auto":
        interactive = terminal and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"
        mode = "tui" if interactive else "plain"
    if mode == "tui":

        def live() -> Display:
            from rich.console import Console

            from gaia_runner.view.live import TuiDisplay

            return TuiDisplay(console or Console(file=out))

        return DeferredDisplay(live)
    return PlainDisplay(out)
