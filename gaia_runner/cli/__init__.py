"""The `gaia` command line: the only place that prints usage or exits."""

import sys


def main() -> None:
    # `gaia up` is the long-lived process: it parses its own flags and never imports
    # typer. Every other command imports the typer app, and only its own module.
    argv = sys.argv[1:]
    try:
        if argv[:1] == ["up"]:
            from gaia_runner.cli import up

            up.main(argv[1:])
        else:
            from gaia_runner.cli.app import main as run

            run(argv)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["main"]
