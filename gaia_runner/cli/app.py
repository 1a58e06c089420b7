"""The `gaia` command: the typer app and its commands, one module per group. Only the
cli package prints errors for humans and exits.

Each command module is imported only when its command can run: `gaia up` (a long-lived
process whose memory and start-up time are part of every app's cost) never loads the
export, status or log-reading code.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import typer

from gaia_runner import __version__

# command name -> (module under gaia_runner.cli, function)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("files", "check"),
    "config": ("files", "show_config"),
    "init": ("files", "init"),
    "down": ("lifecycle", "down"),
    "status": ("control", "status"),
    "stop": ("control", "stop"),
    "start": ("control", "start"),
    "restart": ("control", "restart"),
    "scale": ("control", "scale"),
    "reload": ("control", "reload"),
    "logs": ("logs", "logs"),
    "top": ("top", "top"),
}


def version() -> None:
    """Print gaia's version."""
    typer.echo(__version__)


def build(argv: Sequence[str] = ()) -> typer.Typer:
    """The typer app; with a known command name first in argv, only that command is
    registered (help and usage for everything else need the whole app)."""
    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        help="Run Python web apps from one declarative gaia.toml.",
        pretty_exceptions_enable=False,
    )
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    if wanted is None:
        _register_up(app)
    for name, (module, attr) in COMMANDS.items():
        if wanted is None or name == wanted:
            command = getattr(importlib.import_module(f"gaia_runner.cli.{module}"), attr)
            app.command(name=name)(command)
    if wanted is None:
        from gaia_runner.cli import export

        app.add_typer(export.app, name="export")
        app.command()(version)
    else:
        # A group with one command would otherwise run it without its name.
        app.callback()(lambda: None)
    return app


def _register_up(app: typer.Typer) -> None:
    """`gaia up` in the command list and `gaia --help`; main() runs it without typer."""
    from gaia_runner.cli import up

    @app.command(
        name="up",
        help=up.HELP,
        add_help_option=False,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def _up(ctx: typer.Context) -> None:
        up.main(ctx.args)


def main(argv: Sequence[str]) -> None:
    build(argv)()
