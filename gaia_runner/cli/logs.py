"""`gaia logs`: the apps' and gaia's log files as one stream; works with or without a
running gaia, and whatever state gaia.toml is in."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Annotated

import typer

from gaia_runner.cli.flags import ConfigOption
from gaia_runner.cli.options import EXIT_CONFIG, EXIT_NO_GAIA, EXIT_REFUSED, duration_flag, fail
from gaia_runner.cli.which_gaia import config_path_leniently, state_dir_in_use
from gaia_runner.logs.follow import FOLLOW_POLL, RotationWatcher
from gaia_runner.logs.tail import Follower, follow_once, format_entry, merged, streams, tagged
from gaia_runner.metrics.wire import RECORD_TAG as SLOW_TAG
from gaia_runner.statedir import StateDirError, check_private_dir
from gaia_runner.view.display import printable_lines

SINCE_AT_MOST = 100 * 365 * 86400.0  # a century: further back is every line anyway


def logs(
    apps: Annotated[
        list[str] | None, typer.Argument(help="Apps to show (default: all, and gaia's own).")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[int, typer.Option("-n", "--lines", min=0, help="Lines to show first.")] = 20,
    since: Annotated[
        str | None, typer.Option("--since", help='Only lines newer than this, e.g. "10m".')
    ] = None,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", "-t", help="Show each line's timestamp.")
    ] = False,
    slow: Annotated[
        bool,
        typer.Option("--slow", help="Only slow-request and blocked event loop records."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print the merged, prefixed log stream from state_dir/logs; -f follows it."""
    tag = SLOW_TAG if slow else None
    cutoff = None
    if since is not None:
        seconds = duration_flag("--since", since, at_most=SINCE_AT_MOST)
        cutoff = datetime.now().astimezone() - timedelta(seconds=seconds)
    state_dir = state_dir_in_use(config_path_leniently(config))
    log_dir = state_dir / "logs"
    if not log_dir.is_dir():
        raise fail(f"error: no logs yet (no {log_dir})", EXIT_NO_GAIA)
    try:
        # As every command that reads a state dir: a gaia.toml someone else wrote must
        # not point root's `gaia logs` at their directory (links to root's files, FIFOs).
        check_private_dir(state_dir)
    except StateDirError as exc:
        raise fail(f"error: unsafe state_dir: {exc}", EXIT_CONFIG) from None
    known = streams(log_dir)
    unknown = [a for a in apps or [] if a not in known]
    if unknown:
        raise fail(
            f"error: no log for {', '.join(unknown)} in {log_dir} (have: {', '.join(known)})",
            EXIT_REFUSED,
        )
    chosen = list(apps or known)
    width = max(map(len, chosen), default=4)
    # Opened before the recent lines are read: a line written in between may show twice,
    # but is never lost.
    followers = {app: Follower(log_dir / f"{app}.log") for app in chosen} if follow else {}
    for entry in merged(log_dir, chosen, lines, cutoff, tag):
        _show(format_entry(entry, width, timestamps))
    if not follow:
        return
    watcher = RotationWatcher(log_dir, followers)
    while True:
        if not apps:  # an app started later gets followed too
            for app in streams(log_dir):
                if app not in followers:
                    followers[app] = Follower(log_dir / f"{app}.log", from_start=True)
                    width = max(width, len(app))
        shown = [
            format_entry(entry, width, timestamps)
            for entry in follow_once(followers)
            if tagged(entry, tag)
        ]
        if shown:
            _show_all(shown)
        sys.stdout.flush()  # `gaia logs -f | grep`: a pipe would hold lines back
        if not shown:
            watcher.wait(FOLLOW_POLL)


def _show_all(lines: list[str]) -> None:
    # One write for a whole batch: a backlog of a fast logger is many thousand lines.
    typer.echo("\n".join(printable_lines(lines)))


def _show(line: str) -> None:
    # App output may hold escape sequences; the terminal must not obey them.
    typer.echo(printable_lines([line])[0])
