"""Commands about the config file itself: check it, print it resolved, start one."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from gaia_runner.cli.flags import ConfigOption
from gaia_runner.cli.options import fail, load
from gaia_runner.cli.scaffold import STARTER_APP, starter_text
from gaia_runner.config.resolved import resolved_toml


def check(config: ConfigOption = None) -> None:
    """Validate gaia.toml and report every problem at once."""
    loaded = load(config)
    names = ", ".join(loaded.config.apps)
    typer.echo(f"{loaded.config.source}: ok ({len(loaded.config.apps)} apps: {names})")


def show_config(config: ConfigOption = None) -> None:
    """Print the resolved configuration, defaults filled in (env values hidden)."""
    typer.echo(resolved_toml(load(config).config), nl=False)


def init(
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("gaia.toml"),
) -> None:
    """Write a commented starter gaia.toml, and a starter main.py if there is none
    (never overwrites)."""
    app_file = path.parent / "main.py"
    with_app = not app_file.exists()
    try:
        with path.open("x") as out:
            out.write(starter_text(with_app=with_app))
    except FileExistsError:
        raise fail(f"error: {path} already exists; not overwriting it", 1) from None
    if with_app:
        with contextlib.suppress(FileExistsError), app_file.open("x") as out:
            out.write(STARTER_APP)
        typer.echo(f"wrote {app_file} (a starter app answering /healthz)")
    typer.echo(f"wrote {path}; edit it, then run `gaia check` and `gaia up`")
