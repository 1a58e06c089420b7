"""The `gaia` command line: the only place that prints usage or exits."""

from gaia_runner.cli.app import main

__all__ = ["main"]
