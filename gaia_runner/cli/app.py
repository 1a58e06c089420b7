"""The `gaia` command. The only module that prints errors for humans and exits."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gaia_runner import __version__, control
from gaia_runner.cli.starter import starter_text
from gaia_runner.config import ConfigError, find_config_path, load_config
from gaia_runner.config.load import LoadedConfig
from gaia_runner.config.resolved import resolved_toml
from gaia_runner.control import control_path
from gaia_runner.pidfile import pid_file, pid_record, running_gaia, signal_gaia
from gaia_runner.process.statedir import StateDirError, check_private_dir, prepare_state_dir
from gaia_runner.runner import Runner, StartupError
from gaia_runner.view.display import make_display
from gaia_runner.view.status import render_status

EXIT_CONFIG = 2
NO_GAIA = "error: no gaia running for this config"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run Python web apps from one declarative gaia.toml.",
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="gaia.toml to use (else $GAIA_CONFIG, else ./gaia.toml)."),
]


def _fail(message: str, code: int = EXIT_CONFIG) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _load(config: Path | None) -> LoadedConfig:
    try:
        path = find_config_path(config, os.environ, Path.cwd())
        loaded = load_config(path)
    except ConfigError as exc:
        raise _fail(f"error: invalid configuration\n{exc}") from None
    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}", err=True)
    return loaded


def _private_state_dir(loaded: LoadedConfig, create: bool) -> Path:
    """state_dir holds what gaia trusts (pid, sockets, configs it executes): refuse a
    directory another user could write into."""
    state_dir = loaded.config.gaia.state_dir
    try:
        if create:
            prepare_state_dir(state_dir)
        else:
            check_private_dir(state_dir)
        control_path(state_dir)  # checks the /tmp fallback used for long socket paths
    except (StateDirError, OSError) as exc:
        if not create and isinstance(exc, StateDirError) and not state_dir.exists():
            raise _fail(NO_GAIA, 1) from None
        raise _fail(f"error: unsafe state_dir: {exc}") from None
    return state_dir


@app.command()
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
    loaded = _load(config)
    pids = pid_file(_private_state_dir(loaded, create=True))
    other = running_gaia(pids)
    if other is not None and other != os.getpid():
        raise _fail(f"error: gaia is already running for this state_dir (pid {other})")
    display = make_display("plain" if no_tui else "auto")
    runner = Runner(loaded.config, display, only=apps or (), dev=dev, watch_config=not no_watch)
    try:
        with pid_record(pids):
            asyncio.run(runner.run())
    except StartupError as exc:
        raise _fail(f"error: nothing started\n{exc}") from None


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate gaia.toml and report every problem at once."""
    loaded = _load(config)
    names = ", ".join(loaded.config.apps)
    typer.echo(f"{loaded.config.source}: ok ({len(loaded.config.apps)} apps: {names})")


@app.command(name="config")
def show_config(config: ConfigOption = None) -> None:
    """Print the resolved configuration, defaults filled in (env values hidden)."""
    typer.echo(resolved_toml(_load(config).config), nl=False)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("gaia.toml"),
) -> None:
    """Write a commented starter gaia.toml (never overwrites)."""
    try:
        with path.open("x") as out:
            out.write(starter_text())
    except FileExistsError:
        raise _fail(f"error: {path} already exists; not overwriting it", 1) from None
    typer.echo(f"wrote {path}; edit it, then run `gaia check` and `gaia up`")


@app.command()
def reload(config: ConfigOption = None) -> None:
    """Ask the running gaia to re-read gaia.toml now (same as SIGHUP)."""
    loaded = _load(config)
    pid = signal_gaia(pid_file(_private_state_dir(loaded, create=False)), signal.SIGHUP)
    if pid is None:
        raise _fail(NO_GAIA, 1)
    typer.echo(f"reload requested (pid {pid})")


def _ask(config: Path | None, message: dict[str, Any]) -> dict[str, Any]:
    loaded = _load(config)
    try:
        return control.request(control_path(_private_state_dir(loaded, create=False)), message)
    except control.ControlError as exc:
        raise _fail(f"error: {exc}", 1) from None


@app.command()
def status(config: ConfigOption = None) -> None:
    """Print the running gaia's status table once."""
    answer = _ask(config, {"command": "status"})
    Console().print(render_status(control.snapshot_from_dict(answer["snapshot"])))


@app.command()
def restart(
    apps: Annotated[
        list[str] | None, typer.Argument(help="Apps to restart (default: all).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Restart apps: serving ones are replaced without downtime; FAILED/FATAL ones start over."""
    answer = _ask(config, {"command": "restart", "apps": apps or []})
    typer.echo(f"restart requested: {', '.join(answer['restarted'])}")


@app.command()
def version() -> None:
    """Print gaia's version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
