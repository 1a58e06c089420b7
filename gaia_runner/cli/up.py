"""`gaia up`: the one long-running command."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from gaia_runner.cli.options import EXIT_FORCED, ConfigOption, fail, load, private_state_dir
from gaia_runner.pidfile import pid_file, pid_record, running_gaia
from gaia_runner.runner import Runner, StartupError
from gaia_runner.view.display import Display, make_display
from gaia_runner.view.events import QuietDisplay, Timestamped


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
    detach: Annotated[
        bool,
        typer.Option(
            "--detach", "-d", help="Run in the background; return once every app is up or failed."
        ),
    ] = False,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", help="Start every line on screen with its time.")
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="With -d: seconds to wait for the apps to settle.")
    ] = 300.0,
    detached_child: Annotated[bool, typer.Option("--detached-child", hidden=True)] = False,
) -> None:
    """Validate gaia.toml, run prestart steps, start and supervise every app."""
    loaded = load(config)
    state_dir = private_state_dir(loaded, create=True)
    pids = pid_file(state_dir)
    other = running_gaia(pids)
    if other is not None and other != os.getpid():
        raise fail(f"error: gaia is already running for this state_dir (pid {other})")
    if detach:
        argv = ["-c", str(loaded.config.source), *(apps or [])]
        argv += [flag for flag, on in (("--dev", dev), ("--no-watch", no_watch)) if on]
        from gaia_runner.cli import lifecycle

        lifecycle.detach(state_dir, argv, wait)
        return
    display: Display = (
        QuietDisplay() if detached_child else make_display("plain" if no_tui else "auto")
    )
    if timestamps:
        display = Timestamped(display)
    runner = Runner(loaded.config, display, only=apps or (), dev=dev, watch_config=not no_watch)
    try:
        with pid_record(pids):
            asyncio.run(runner.run())
    except StartupError as exc:
        raise fail(f"error: nothing started\n{exc}") from None
    if runner.forced:
        raise typer.Exit(EXIT_FORCED)
