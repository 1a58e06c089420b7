"""The `gaia` command line: the only place that prints usage or exits."""

import os
import sys


def main() -> None:
    if os.geteuid() == 0:
        _refuse_untrusted_install()
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


def _refuse_untrusted_install() -> None:
    """Before anything else is imported: every command, since a root `gaia check` or
    `export` from such an install is as much root's code as `gaia up` is."""
    from gaia_runner.install_trust import UntrustedInstall, check_install

    try:
        check_install()
    except UntrustedInstall as exc:
        print(f"gaia: {exc}", file=sys.stderr)
        sys.exit(2)


__all__ = ["main"]
