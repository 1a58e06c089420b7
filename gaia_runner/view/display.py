"""The output side of `gaia up`: plain lines, or (view/live.py, loaded only on a terminal)
app logs scrolling above a live status table."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Literal, Protocol

from gaia_runner.view.applog import Warn, warn_stderr
from gaia_runner.view.clean import MAX_LINE_CHARS, prefix, printable_block, printable_lines
from gaia_runner.view.snapshot import Snapshot

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


def _discard_writes(stream: IO[str]) -> None:
    """Point the stream's descriptor at /dev/null: Python flushes stdout once more at exit,
    and a failure there would turn gaia's clean exit into status 120."""
    with contextlib.suppress(OSError, ValueError):
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


class PlainDisplay:
    """One `name | line` per line, for CI logs and journald, where a live table is noise.

    Output that cannot be written (a full disk, a closed pipe) is counted and skipped: the
    apps, their log files and gaia itself carry on. A closed pipe never comes back; after
    a full disk, writing resumes with a note of how many lines were not shown.
    """

    shows_status = False

    def __init__(self, stream: IO[str] | None = None, warn: Warn = warn_stderr) -> None:
        self._stream = stream
        self._warn = warn
        self._lock = threading.Lock()
        self._gone = False
        self._error: str | None = None
        self.dropped = 0  # lines not shown, since gaia started

    def start(self) -> None:
        pass

    def stop(self) -> None:
        stream = self._stream_or_stdout()
        try:
            stream.flush()
        except (OSError, ValueError):
            _discard_writes(stream)

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
        count = block.count("\n") + 1
        stream = self._stream_or_stdout()
        with self._lock:
            if self._gone:
                self.dropped += count
                return
            text = head + block.replace("\n", f"\n{head}") + "\n"
            if self._error is not None:
                note = f"output resumed; {self.dropped} lines were not shown ({self._error})"
                text = f"{GAIA} | {note}\n{text}"
            try:
                self._put(stream, text)
            except (BrokenPipeError, ValueError):
                # `gaia up | head`, or a closed stdout: nobody will read again.
                self._gone = True
                self.dropped += count
                _discard_writes(stream)
                self._warn("stdout is closed; app output now goes to the log files only")
            except OSError as exc:
                self.dropped += count
                if self._error is None:
                    self._error = exc.strerror or type(exc).__name__
                    self._warn(f"cannot write to stdout ({self._error}); will retry")
            else:
                self._error = None

    @staticmethod
    def _put(stream: IO[str], text: str) -> None:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            # An ASCII-only stdout (LANG=C under some service managers): degrade it.
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "replace").decode(encoding))
        stream.flush()


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

    def _ready(self) -> Display:
        with self._lock:
            if self._inner is None:
                inner = self._create()
                if self._started:
                    inner.start()
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
        self._ready().update(snapshot)

    def log_line(self, app: str, source: str, line: str) -> None:
        self._send(lambda d: d.log_line(app, source, line))

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        self._send(lambda d: d.log_lines(app, source, lines))

    def event(self, message: str) -> None:
        self._send(lambda d: d.event(message))


def make_display(mode: Literal["auto", "tui", "plain"], console: Console | None = None) -> Display:
    """Pick the display; with a console given, plain output goes to that console's file."""
    if mode == "auto":
        terminal = console.is_terminal if console is not None else sys.stdout.isatty()
        interactive = terminal and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"
        mode = "tui" if interactive else "plain"
    if mode == "tui":

        def live() -> Display:
            from gaia_runner.view.live import TuiDisplay

            return TuiDisplay(console)

        return DeferredDisplay(live)
    return PlainDisplay(console.file if console is not None else None)
