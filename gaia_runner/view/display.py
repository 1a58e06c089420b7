"""The output side of `gaia up`: app logs scrolling above a live status table, or plain lines."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import IO, Literal, Protocol

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from gaia_runner.view.snapshot import Snapshot
from gaia_runner.view.status import clean_line, render_status

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


def safe_lines(text: str) -> list[str]:
    """Split and clean, so every line printed carries its own prefix and nothing else."""
    lines = [clean_line(line) for line in text.splitlines() or [""]]
    return [line[:MAX_LINE_CHARS] + "…" if len(line) > MAX_LINE_CHARS else line for line in lines]


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
        head = name.ljust(self._prefix_width)
        # Text, never a str: app output like "[red]" or ":smile:" must print as written.
        # One print per batch: each print re-renders the live table under it.
        out = Text("\n").join(
            Text.assemble((head, style), (" | ", style), line)
            for text in texts
            for line in safe_lines(text)
        )
        self.console.print(out, markup=False, highlight=False, emoji=False, overflow="fold")


class PlainDisplay:
    """One `name | line` per line, for CI logs and journald, where a live table is noise."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def stop(self) -> None:
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
        text = "".join(f"{name} | {line}\n" for t in texts for line in safe_lines(t))
        stream = self._stream_or_stdout()
        with self._lock:
            try:
                try:
                    stream.write(text)
                except UnicodeEncodeError:
                    # An ASCII-only stdout (LANG=C under some service managers): degrade it.
                    encoding = getattr(stream, "encoding", None) or "ascii"
                    stream.write(text.encode(encoding, "replace").decode(encoding))
                stream.flush()
            except (BrokenPipeError, ValueError):
                # `gaia up | head` or a closed stdout: losing log lines must not stop the apps.
                pass


def make_display(mode: Literal["auto", "tui", "plain"], console: Console | None = None) -> Display:
    """Pick the display; with a console given, plain output goes to that console's file."""
    if mode == "auto":
        terminal = console.is_terminal if console is not None else sys.stdout.isatty()
        interactive = terminal and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"
        mode = "tui" if interactive else "plain"
    if mode == "tui":
        return TuiDisplay(console)
    return PlainDisplay(console.file if console is not None else None)
