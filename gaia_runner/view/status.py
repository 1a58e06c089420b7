"""The live status table of `gaia up`: a pure function from a Snapshot to something Rich draws."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from rich import box
from rich.console import Console, ConsoleOptions, Group, JustifyMethod, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.model.units import format_age, format_size
from gaia_runner.view.clean import clean_line

MISSING = "-"
LAST_LINES_SHOWN = 5

STATE_STYLES: dict[AppState, str] = {
    AppState.RUNNING: "green",
    AppState.PRESTART: "yellow",
    AppState.STARTING: "yellow",
    AppState.BACKOFF: "yellow",
    AppState.STOPPING: "dim",
    AppState.STOPPED: "dim",
    AppState.FAILED: "red",
    AppState.FATAL: "bold red",
    AppState.WAITING: "yellow",
}


def _size(n: int) -> str:
    return format_size(n, short=True)


# A share of 5xx answers at or above this is trouble (red), any above zero a warning.
ERRORS_RED = 0.05
# Memory at or above this share of its limit is a warning: the next step is a recycle.
MEMORY_WARN = 0.9


def _errors_style(app: AppSnapshot) -> str:
    share = app.errors_5xx_share
    if not share:
        return ""
    return "bold red" if share >= ERRORS_RED else "yellow"


def _state(app: AppSnapshot) -> Text:
    label = app.state.value
    if app.stopped_by_request:
        label = "stopped (by request)"
    if app.completed:
        label = "completed"
    if app.state is AppState.BACKOFF and app.backoff_seconds_left is not None:
        # Round up so "0s" never shows while the retry is still pending.
        label = f"backoff {math.ceil(app.backoff_seconds_left)}s"
    style = STATE_STYLES.get(app.state, "")
    if app.state is AppState.RUNNING and (
        _errors_style(app) or app.workers_live < app.workers_desired
    ):
        # Running is not all right while it answers errors or misses workers.
        style = "yellow"
    return Text(label, style=style)


def _workers(app: AppSnapshot) -> Text:
    if not app.workers_desired and not app.workers_live:
        return Text(MISSING)
    # `*`: set by `gaia scale`, not by the file; the note under the table says how.
    mark = "*" if app.workers_in_file is not None else ""
    mark = "~" if app.workers_range is not None else mark  # adaptive: the note says the range
    short = app.state is AppState.RUNNING and app.workers_live < app.workers_desired
    return Text(f"{app.workers_live}/{app.workers_desired}{mark}", "yellow" if short else "")


def _near(used: int | None, limit: int | None) -> bool:
    return used is not None and limit is not None and used >= limit * MEMORY_WARN


def _memory_line(app: AppSnapshot) -> Text:
    """Memory on one line (the live view: one line per app)."""
    if app.memory_bytes is None:
        return Text(MISSING)
    text = _size(app.memory_bytes)
    if app.memory_limit is not None:
        text += f"/{_size(app.memory_limit)}"
    near = _near(app.memory_bytes, app.memory_limit)
    near = near or _near(app.largest_worker_bytes, app.worker_limit)
    return Text(text, "yellow" if near else "")


def _memory(app: AppSnapshot) -> Text:
    """`gaia status`: the largest worker too, on a second line."""
    text = _memory_line(app)
    if app.memory_bytes is not None and app.largest_worker_bytes is not None:
        text.append(f"\nmax worker {_size(app.largest_worker_bytes)}")
        if app.worker_limit is not None:
            text.append(f"/{_size(app.worker_limit)}")
    return text


def _restarts(app: AppSnapshot) -> str:
    if app.restarts and app.last_restart_reason:
        return f"{app.restarts} ({app.last_restart_reason})"
    return str(app.restarts)


def _cpu(app: AppSnapshot) -> str:
    return MISSING if app.cpu_percent is None else f"{app.cpu_percent:.0f}%"


def _uptime(app: AppSnapshot) -> str:
    return MISSING if app.uptime_seconds is None else format_age(app.uptime_seconds)


def _rate(app: AppSnapshot) -> str:
    rate = app.requests_per_second
    if rate is None:
        return MISSING
    if rate >= 1000:
        return f"{rate / 1000:.1f}k"
    return f"{rate:.1f}" if 0 < rate < 10 else f"{rate:.0f}"


def _latency(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    if seconds < 0.001:
        return "<1ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.1f}s"


def _errors(app: AppSnapshot) -> Text:
    share = app.errors_5xx_share
    if share is None:
        return Text(MISSING)
    return Text("0%" if share == 0 else f"{share * 100:.1f}%", _errors_style(app))


def _queue(app: AppSnapshot) -> Text:
    if app.accept_queue is None:
        return Text(MISSING)
    return Text(str(app.accept_queue), "yellow" if app.accept_queue else "")


def _slow(app: AppSnapshot) -> str | Text:
    """Slow requests (and blocked loop stretches, after a slash) since gaia started;
    yellow when there are any: their stacks are in the app's log (`gaia logs --slow`)."""
    if app.slow_requests is None:
        return MISSING
    slow, blocked = app.slow_requests
    text = f"{slow}/{blocked}" if blocked else str(slow)
    return Text(text, style="yellow") if slow or blocked else text


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[AppSnapshot], str | Text]
    justify: JustifyMethod = "left"


def _short_url(app: AppSnapshot) -> Text:
    """The URL column on a narrow screen: no scheme, first address only."""
    if not app.urls:
        return Text(MISSING)
    first = app.urls[0].split("://", 1)[-1]
    more = f" +{len(app.urls) - 1}" if len(app.urls) > 1 else ""
    return Text(first + more)


# What an operator looks for first, left to right: is it up (state), does it have its
# workers, then the requests in RED order (rate, errors, duration: is it busy, is it
# failing, is it slow), then its resources, then what is looked up rather than watched
# (restarts, uptime, addresses, pids). Narrow terminals drop from the right of that
# list (SHRINK_STEPS), so 80 columns keep the first ones.
COLUMNS: tuple[Column, ...] = (
    Column("app", lambda app: Text(app.name, style="bold")),
    Column("state", _state),
    Column("workers", _workers, "right"),
    # Requests over the recent window (metrics/store.py), measured in the workers.
    Column("req/s", _rate, "right"),
    Column("5xx", _errors, "right"),
    Column("p99", lambda app: _latency(app.latency_p99), "right"),
    # The wait before a worker takes the connection, which latency measured in the app omits.
    Column("queue", _queue, "right"),
    # An asyncio worker accepts eagerly: its wait is the event loop's lag, not the queue.
    Column("lag", lambda app: _latency(app.loop_lag), "right"),
    # Behind a proxy that stamps X-Request-Start: the p99 wait from the proxy to the app.
    Column("wait", lambda app: _latency(app.wait_p99), "right"),
    Column("p50", lambda app: _latency(app.latency_p50), "right"),
    # Requests past slow_request (and event-loop stalls): where to look in the app's log.
    Column("slow", _slow, "right"),
    Column("memory", _memory),
    Column("cpu", _cpu, "right"),
    Column("restarts", _restarts),
    Column("uptime", _uptime, "right"),
    Column("url", lambda app: Text("\n".join(app.urls) or MISSING)),
    Column("server", lambda app: app.server or MISSING),
    Column("pid", lambda app: MISSING if app.pid is None else str(app.pid), "right"),
)

SHORT_URL = Column("url", _short_url)
SHORT_RESTARTS = Column("restarts", lambda app: str(app.restarts), "right")
ONE_LINE_MEMORY = Column("memory", _memory_line)
# On a narrow terminal whole columns go, least watched first, rather than every column
# being squeezed into ellipses: what is looked up (pid, server, url) before what is
# watched. At 80 columns state, workers, req/s, 5xx, p99, memory and the restart count
# remain (tested); only a narrower terminal loses those too, p99 and 5xx last. App and
# state are never dropped.
SHRINK_STEPS = (
    "pid",
    "server",
    "url:short",
    "url",
    "uptime",
    "slow",
    "p50",
    "wait",
    "lag",
    "queue",
    "restarts:short",
    "cpu",
    "restarts",
    "memory",
    "req/s",
    "workers",
    "p99",
    "5xx",
)

REQUEST_COLUMNS = ("req/s", "p50", "p99", "5xx", "queue", "lag", "wait", "slow")


def make_table(
    apps: tuple[AppSnapshot, ...],
    columns: tuple[Column, ...] = COLUMNS,
    selected: str | None = None,
) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False)
    for column in columns:
        # A wrapped row would make the live table jump in height; cut with an ellipsis instead.
        table.add_column(column.header, justify=column.justify, no_wrap=True, overflow="ellipsis")
    for app in apps:
        # `gaia top`: the row its keys act on.
        style = "reverse" if app.name == selected else None
        table.add_row(*(column.cell(app) for column in columns), style=style)
    return table


SHORTER = {"url:short": SHORT_URL, "restarts:short": SHORT_RESTARTS}


def _shrink(columns: tuple[Column, ...], step: str) -> tuple[Column, ...]:
    if step in SHORTER:
        shorter = SHORTER[step]
        return tuple(shorter if c.header == shorter.header else c for c in columns)
    return tuple(c for c in columns if c.header != step)


class StatusTable:
    """The app table, shrinking to fit whatever width it is finally drawn at, and saying
    which columns it left out: a hidden column is never a silent one."""

    def __init__(
        self, apps: tuple[AppSnapshot, ...], *, compact: bool = False, selected: str | None = None
    ) -> None:
        self.apps = apps
        self.selected = selected
        # The live view: one line per app (the largest worker is in `gaia status`).
        self.compact = compact

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns, hidden = COLUMNS, []
        if self.compact:
            one_line = {"memory": ONE_LINE_MEMORY, "url": SHORT_URL}
            columns = tuple(one_line.get(c.header, c) for c in columns)
        if all(app.requests_per_second is None for app in self.apps):
            # Nothing measured (only commands, or metrics = false): no columns of dashes.
            columns = tuple(c for c in columns if c.header not in REQUEST_COLUMNS)
        optional = (("queue", "accept_queue"), ("lag", "loop_lag"), ("wait", "wait_p99"))
        for header, known in optional:
            if all(getattr(app, known) is None for app in self.apps):
                columns = tuple(c for c in columns if c.header != header)
        for step in SHRINK_STEPS:
            if self._natural_width(console, options, columns) <= options.max_width:
                break
            if step in REQUEST_COLUMNS and not any(c.header == step for c in columns):
                continue
            columns = _shrink(columns, step)
            if step not in SHORTER:
                hidden.append(step)
        yield make_table(self.apps, columns, self.selected)
        if hidden:
            # Short enough to be read whole at 80 columns with every column named.
            note = f"(hidden: {', '.join(hidden)}; `gaia status` has all)"
            yield Text(note, style="dim", no_wrap=True, overflow="ellipsis")

    def _natural_width(
        self, console: Console, options: ConsoleOptions, columns: tuple[Column, ...]
    ) -> int:
        # Measured as if unbounded: Rich would otherwise clamp the answer to the space we have.
        table = make_table(self.apps, columns)
        return Measurement.get(console, options.update_width(1_000_000), table).maximum


def _failure(app: AppSnapshot, last_lines: int) -> Text:
    """Why an app is down. In the live table at most two lines (the reason, the last
    output line), each cut to the width; `gaia status` shows more output lines."""
    text = Text(f"{app.name} {app.state.value}", style=STATE_STYLES[app.state])
    if app.detail:
        text.append(f": {app.detail}")
    lines = [clean_line(line) for line in app.last_lines if line.strip()][-last_lines:]
    for line in lines:
        text.append(f"\n  {line}", style="dim")
    if last_lines <= 1:
        text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _notes(app: AppSnapshot) -> list[Text]:
    notes = []
    if app.workers_in_file is not None:
        notes.append(
            Text(
                f"{app.name}: {app.workers_desired} workers set by `gaia scale`"
                f" (gaia.toml says {app.workers_in_file})",
                style="yellow",
            )
        )
    if app.workers_range is not None:
        low, high = app.workers_range
        notes.append(Text(f"{app.name}: adaptive workers, {low} to {high}", style="dim"))
    if app.state is AppState.WAITING and app.detail:  # depends_on: what it waits for
        notes.append(Text(f"{app.name}: {app.detail}", style="yellow"))
    if app.rejected and app.state is AppState.RUNNING:
        notes.append(Text(f"{app.name}: last replace refused: {app.rejected}", style="yellow"))
    return notes


def _unwritten(app: AppSnapshot) -> Text:
    return Text(
        f"{app.name}: {app.unwritten_lines} output lines could not be written to its log file",
        style="yellow",
    )


def _config_panel(snapshot: Snapshot) -> Panel:
    # Wrapped, never cut: the whole reason must be readable in the live view.
    name = PurePath(snapshot.config_path).name if snapshot.config_path else "gaia.toml"
    text = Text(f"{name} not applied: {snapshot.config_error}", style="red")
    return Panel(text, border_style="red", expand=False)


def config_line(snapshot: Snapshot) -> Text:
    """`gaia status`'s first line: is the file on disk what runs?"""
    if snapshot.config_error:
        return Text(f"config {snapshot.config_path}: NOT applied (apps run the last valid one)")
    if snapshot.config_pending:
        return Text(f"config {snapshot.config_path}: changed on disk, not applied yet")
    return Text(f"config {snapshot.config_path}: applied", style="green")


def render_status(
    snapshot: Snapshot, *, full: bool = False, selected: str | None = None
) -> RenderableType:
    """Everything below the scrolling logs: the table, the config error (kept high, so it
    is never the part a short terminal cuts), failures, notes. `full` (for `gaia status`)
    adds the config line and more output lines per failure."""
    parts: list[RenderableType] = [config_line(snapshot)] if full else []
    parts.append(StatusTable(snapshot.apps, compact=not full, selected=selected))
    if snapshot.config_error:
        parts.append(_config_panel(snapshot))
    last_lines = LAST_LINES_SHOWN if full else 1
    parts += [
        _failure(app, last_lines)
        for app in snapshot.apps
        if app.state in (AppState.FAILED, AppState.FATAL)
    ]
    for app in snapshot.apps:
        parts += _notes(app)
    parts += [_unwritten(app) for app in snapshot.apps if app.unwritten_lines]
    parts += [Text(notice, style="dim") for notice in snapshot.notices]
    return Group(*parts)
