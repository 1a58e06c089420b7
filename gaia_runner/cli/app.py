"""The `gaia` command: the typer app and its commands, one module per group. Only the
cli package prints errors for humans and exits."""

from __future__ import annotations

import sys

import typer

from gaia_runner import __version__
from gaia_runner.cli import control, export, files, lifecycle, logs, up

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run Python web apps from one declarative gaia.toml.",
    pretty_exceptions_enable=False,
)
app.command()(up.up)
app.command()(files.check)
app.command(name="config")(files.show_config)
app.command()(files.init)
app.command()(lifecycle.down)
app.command()(control.status)
app.command()(control.stop)
app.command()(control.start)
app.command()(control.restart)
app.command()(control.scale)
app.command()(control.reload)
app.command()(logs.logs)
app.add_typer(export.app, name="export")


@app.command()
def version() -> None:
    """Print gaia's version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
