"""Commands that talk to a running gaia: over its control socket, or by signal."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gaia_runner import control
from gaia_runner.cli.options import NO_GAIA, ConfigOption, fail, load, private_state_dir
from gaia_runner.control import control_path
from gaia_runner.pidfile import pid_file, signal_gaia
from gaia_runner.view.status import render_status


def reload(config: ConfigOption = None) -> None:
    """Ask the running gaia to re-read gaia.toml now (same as SIGHUP)."""
    loaded = load(config)
    pid = signal_gaia(pid_file(private_state_dir(loaded, create=False)), signal.SIGHUP)
    if pid is None:
        raise fail(NO_GAIA, 1)
    typer.echo(f"reload requested (pid {pid})")


def ask(config: Path | None, message: dict[str, Any]) -> dict[str, Any]:
    loaded = load(config)
    try:
        return control.request(control_path(private_state_dir(loaded, create=False)), message)
    except control.ControlError as exc:
        raise fail(f"error: {exc}", 1) from None


def status(config: ConfigOption = None) -> None:
    """Print the running gaia's status table once."""
    answer = ask(config, {"command": "status"})
    Console().print(render_status(control.snapshot_from_dict(answer["snapshot"])))


def restart(
    apps: Annotated[
        list[str] | None, typer.Argument(help="Apps to restart (default: all).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Restart apps: serving ones are replaced without downtime; FAILED/FATAL ones start over."""
    answer = ask(config, {"command": "restart", "apps": apps or []})
    typer.echo(f"restart requested: {', '.join(answer['restarted'])}")
