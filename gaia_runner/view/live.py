"""The live view of `gaia up` on a terminal: app logs scrolling above the status table.

Rich redraws the table under every print, so two things keep a chatty app from turning
the table into gaia's main cost: the table is laid out once per visible change (and
replayed from its rendered lines otherwise), and log lines reach the terminal in batches
of up to BATCH_SECONDS, one print per batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import textwrap
from collections.abc import Hashable, Iterable, Iterator, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from gaia_runner.model.snapshot import Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.view.clean import printable_lines
from gaia_runner.view.status import COLUMNS, render_status

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
# Log lines wait at most this long to be printed together (10 prints a second at most).
BATCH_SECONDS = 0.1
# The name column is as wide as the longest app name when the view starts, within these
# bounds, and stays so: a column that widens mid-stream misaligns everything above it.
# A longer name (an app added by a reload) is cut with an ellipsis.
PREFIX_MIN = len(GAIA)
PREFIX_MAX = 16
# Narrower than this beside the prefix, lines are left for the terminal to wrap.
FOLD_MIN = 20
# gunicorn's own stamp: gaia stamps every line in the log files, and on screen a line is
# read as it comes (`--timestamps` puts gaia's stamp in front).
_SERVER_STAMP = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] ")
# gaia's events in the runner start with "gaia: " for gaia.log; the name column says it here.
_OWN_EVENT = f"{GAIA}: "


def fingerprint(snapshot: Snapshot) -> Hashable:
    """Equal for two snapshots that draw the same table: the uptime ticking from 3.51 s
    to 3.98 s changes no character on screen."""
    apps = tuple(
        (
            # Numbers that change on every snapshot: the cells below say what is shown of them.
            dataclasses.replace(
                app,
                uptime_seconds=None,
                cpu_percent=None,
                memory_bytes=None,
                largest_worker_bytes=None,
                backoff_seconds_left=None,
                requests_per_second=None,
                latency_p50=None,
                latency_p99=None,
                errors_5xx_share=None,
                accept_queue=None,
                loop_lag=None,
                wait_p50=None,
                wait_p99=None,
                cpu_seconds_total=0.0,
            ),
            tuple(str(column.cell(app)) for column in COLUMNS),
        )
        for app in snapshot.apps
    )
    return (apps, snapshot.config_path, snapshot.config_error, snapshot.notices)


# Lines of the live region that are not app rows: the table's borders and header, the
# line saying how many rows were left out, a config error's first lines.
NOT_ROWS = 8


def fitted(snapshot: Snapshot, height: int) -> Snapshot:
    """The snapshot with as many apps as the terminal shows: the rows past its height were
    laid out on every redraw only to be cropped (200 idle apps cost a quarter of a core).
    Apps that are not RUNNING come first, so no failure is ever the row left out."""
    room = max(3, height - NOT_ROWS)
    if len(snapshot.apps) <= room:
        return snapshot
    order = sorted(snapshot.apps, key=lambda app: app.state is AppState.RUNNING)
    kept = {app.name for app in order[:room]}
    more = len(snapshot.apps) - room
    notice = f"{more} more running apps not shown: `gaia status` lists every one"
    return dataclasses.replace(
        snapshot,
        apps=tuple(app for app in snapshot.apps if app.name in kept),
        notices=(*snapshot.notices, notice),
    )


class Rendered:
    """A renderable laid out once per width and replayed as segments afterwards."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._lines: list[list[Segment]] = []
        self._width = -1

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width != self._width:
            self._lines = console.render_lines(self.renderable, options, pad=False)
            self._width = options.max_width
        newline = Segment.line()
        for line in self._lines:
            yield from line
            yield newline


class TuiDisplay:
    """Rich Live status table; logs are printed above it and scroll away like normal output."""

    shows_status = True

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._shown = Rendered(render_status(Snapshot(apps=())))
        self._fingerprint: Hashable = fingerprint(Snapshot(apps=()))
        self._colours: dict[str, str] = {}
        self._styles: dict[str, Style] = {}
        self._prefix_width: int | None = None  # fixed by the first table or the first print
        self._pending: list[tuple[str, str, Sequence[str]]] = []
        self._flush_due: asyncio.TimerHandle | None = None
        self._live = Live(
            console=self.console,
            transient=False,
            redirect_stdout=True,
            redirect_stderr=True,
            # Redrawn when the table changes (update) and under every print; no timer thread.
            auto_refresh=False,
            get_renderable=lambda: self._shown,
        )

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self.flush()
        # Nothing stale after exit: the table goes; the events above it said how each app ended.
        self._live.transient = True
        self._live.stop()

    def update(self, snapshot: Snapshot) -> None:
        if self._prefix_width is None and snapshot.apps:
            longest = max(len(app.name) for app in snapshot.apps)
            self._prefix_width = min(PREFIX_MAX, max(PREFIX_MIN, longest))
        snapshot = fitted(snapshot, self.console.height)
        seen = fingerprint(snapshot)
        if seen == self._fingerprint:
            return
        self._fingerprint = seen
        self._shown = Rendered(render_status(snapshot))
        self.flush()
        self._live.refresh()

    def colour(self, app: str) -> str:
        # By first appearance, so the first few apps never share a colour.
        return self._colours.setdefault(app, PALETTE[len(self._colours) % len(PALETTE)])

    def log_line(self, app: str, source: str, line: str) -> None:
        self.log_lines(app, source, [line])

    def log_lines(self, app: str, source: str, lines: Sequence[str]) -> None:
        if source:
            lines = [f"[{source}] {line}" for line in lines]
        self._pending.append((app, self.colour(app), lines))
        if self._flush_due is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a test, a final message): print now
                self.flush()
                return
            self._flush_due = loop.call_later(BATCH_SECONDS, self.flush)

    def event(self, message: str) -> None:
        self._pending.append((GAIA, "bold", [message.removeprefix(_OWN_EVENT)]))
        self.flush()

    def flush(self) -> None:
        """Print every pending line at once, in the order the lines came."""
        if self._flush_due is not None:
            self._flush_due.cancel()
            self._flush_due = None
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if self._prefix_width is None:  # printed before any table: the names seen so far
            longest = max(len(name) for name, _, _ in pending)
            self._prefix_width = min(PREFIX_MAX, max(PREFIX_MIN, longest))
        self.console.print(self._block(pending, self._prefix_width), soft_wrap=True)

    def _block(self, pending: Iterable[tuple[str, str, Sequence[str]]], width: int) -> LogBlock:
        room = self.console.width - width - 3
        more = f"{' ' * width} | "
        lines: list[tuple[str, Style, str]] = []
        for name, style, texts in pending:
            head = f"{fit_name(name, width)} | "
            styled = self._styles.get(style) or self._styles.setdefault(
                style, self.console.get_style(style)
            )
            for line in printable_lines(texts):
                if line.startswith("[") and (stamp := _SERVER_STAMP.match(line)):
                    line = line[stamp.end() :]
                if room < FOLD_MIN or fits(line, room):
                    lines.append((head, styled, line))
                    continue
                for n, part in enumerate(fold(line, room, self.console)):
                    lines.append((more if n else head, styled, part))
        return LogBlock(lines)


def fits(line: str, room: int) -> bool:
    return len(line) <= room if line.isascii() else cell_len(line) <= room


def fit_name(name: str, width: int) -> str:
    return name.ljust(width) if len(name) <= width else name[: width - 1] + "…"


def fold(line: str, room: int, console: Console) -> Iterator[str]:
    """A long line as rows of at most `room` cells, broken between words where it can be
    (a word longer than a row is cut): never a word split by the terminal's own wrap."""
    if line.isascii():
        # Leading spaces stay (a traceback's indentation); the rows after start at a word.
        rows = textwrap.wrap(line, room, break_on_hyphens=False, drop_whitespace=True)
        yield from rows or [""]
        return
    for row in Text(line).wrap(console, room):  # wide characters: measured in cells
        yield row.plain.rstrip()


class LogBlock:
    """Log lines as ready segments: the prefix styled, the line as written (never markup),
    no wrapping or cropping by Rich (the terminal wraps a long line, as it would without
    the table). Laying out thousands of lines as Text cost more than the table itself."""

    def __init__(self, lines: Sequence[tuple[str, Style, str]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        newline = Segment.line()
        for head, style, line in self.lines:
            yield Segment(head, style)
            yield Segment(line)
            yield newline
