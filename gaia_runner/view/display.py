"""The output side of `gaia up`: app logs scrolling above a live status table, or plain lines."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import IO, Literal, Protocol

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Span, Text

from gaia_runner.view.applog import Warn, warn_stderr
from gaia_runner.view.snapshot import Snapshot
from gaia_runner.view.status import clean_block, render_status

GAIA = "gaia"
# Red is left out: it means trouble in the status table, not "this is the third app".
PALETTE = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_yellow",
    "bright_blue",
)
# A child that prints a megabyte without a newline must not stall every redraw.
MAX_LINE_CHARS = 10_000


class Display(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def log_line(self, app: str, source: str, line: str) -> None: ...

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None: ...

    def event(self, message: str) -> None: ...

    def update(self, snapshot: Snapshot) -> None: ...


def prefix(app: str, source: str = "") -> str:
    return f"{app}:{source}" if source else app


def printable_block(texts: Sequence[str]) -> str:
    """The batch as one cleaned, newline-separated text: one pass per batch, not per line,
    so a chatty app costs gaia little."""
    text = clean_block("\n".join(texts))
    # Cleaning only shortens a line, except for tabs (at most 8 columns each): most
    # batches are proven short from their input lengths without splitting them.
    if max(map(len, texts), default=0) * 8 > MAX_LINE_CHARS:
        text = "\n".join(
            line[:MAX_LINE_CHARS] + "…" if len(line) > MAX_LINE_CHARS else line
            for line in text.split("\n")
        )
    return text


def printable_lines(texts: Sequence[str]) -> list[str]:
    return printable_block(texts).split("\n")


def _discard_writes(stream: IO[str]) -> None:
    """Point the stream's descriptor at /dev/null: Python flushes stdout once more at exit,
    and a failure there would turn gaia's clean exit into status 120."""
    with contextlib.suppress(OSError, ValueError):
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


class TuiDisplay:
    """Rich Live status table; logs are printed above it and scroll away like normal output."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._snapshot = Snapshot(apps=())
        self._colours: dict[str, str] = {}
        self._prefix_width = len(GAIA)
        self._live = Live(
            console=self.console,
            transient=False,
            redirect_stdout=True,
            redirect_stderr=True,
            refresh_per_second=1,
            # Read at every refresh, so update() is a plain assignment and never blocks.
            get_renderable=self._render,
        )

    def _render(self) -> RenderableType:
        return render_status(self._snapshot)

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.stop()

    def update(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def colour(self, app: str) -> str:
        # By first appearance, so the first few apps never share a colour.
        return self._colours.setdefault(app, PALETTE[len(self._colours) % len(PALETTE)])

    def log_line(self, app: str, source: str, line: str) -> None:
        self.log_lines(app, source, [line])

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        self._print(prefix(app, source), self.colour(app), lines)

    def event(self, message: str) -> None:
        self._print(GAIA, "bold", [message])

    def _print(self, name: str, style: str, texts: Sequence[str]) -> None:
        # Pad to the widest prefix seen so far so that the bars mostly line up.
        self._prefix_width = max(self._prefix_width, len(name))
        head = f"{name.ljust(self._prefix_width)} | "
        lines = printable_lines(texts)
        # Text, never a str: app output like "[red]" or ":smile:" must print as written.
        # One Text and one print per batch (each print re-renders the live table under
        # it); the prefixes are styled by offset rather than by a Text per line.
        spans, pos, step = [], 0, len(head) + 1
        for line in lines:
            spans.append(Span(pos, pos + len(head), style))
            pos += step + len(line)
        out = Text(head + f"\n{head}".join(lines), spans=spans)
        self.console.print(out, markup=False, highlight=False, emoji=False, overflow="fold")


class PlainDisplay:
    """One `name | line` per line, for CI logs and journald, where a live table is noise.

    Output that cannot be written (a full disk, a closed pipe) is counted and skipped: the
    apps, their log files and gaia itself carry on. A closed pipe never comes back; after
    a full disk, writing resumes with a note of how many lines were not shown.
    """

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


def make_display(mode: Literal["auto", "tui", "plain"], console: Console | None = None) -> Display:
    """Pick the display; with a console given, plain output goes to that console's file."""
    if mode == "auto":
        terminal = console.is_terminal if console is not None else sys.stdout.isatty()
        interactive = terminal and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"
        mode = "tui" if interactive else "plain"
    if mode == "tui":
        return TuiDisplay(console)
    return PlainDisplay(console.file if console is not None else None)
