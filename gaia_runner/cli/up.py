"""`gaia up`: the one long-running command."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from gaia_runner.cli.options import EXIT_FORCED, ConfigOption, fail, load, private_state_dir
from gaia_runner.pidfile import pid_file, pid_record, running_gaia
from gaia_runner.runner import Runner, StartupError
from gaia_runner.view.display import make_display


def up(
    apps: Annotated[list[str] | None, typer.Argument(help="Start only these apps.")] = None,
    config: ConfigOption = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Reload apps when their code changes; one worker each.")
    ] = False,
    no_tui: Annotated[
        bool, typer.Option("--no-tui", help="Plain prefixed lines, even on a terminal.")
    ] = False,
    no_watch: Annotated[
        bool, typer.Option("--no-watch", help="Do not apply gaia.toml edits on save.")
    ] = False,
) -> None:
    """Validate gaia.toml, run prestart steps, start and supervise every app."""
    loaded = load(config)
    pids = pid_file(private_state_dir(loaded, create=True))
    other = running_gaia(pids)
    if other is not None and other != os.getpid():
        raise fail(f"error: gaia is already running for this state_dir (pid {other})")
    display = make_display("plain" if no_tui else "auto")
    runner = Runner(loaded.config, display, only=apps or (), dev=dev, watch_config=not no_watch)
    try:
        with pid_record(pids):
            asyncio.run(runner.run())
    except StartupError as exc:
        raise fail(f"error: nothing started\n{exc}") from None
    if runner.forced:
        raise typer.Exit(EXIT_FORCED)
