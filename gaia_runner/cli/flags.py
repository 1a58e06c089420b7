"""Typer annotations the typer-parsed commands share (`gaia up` parses its own flags)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaia_runner.cli.options import CONFIG_HELP

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help=CONFIG_HELP)]
