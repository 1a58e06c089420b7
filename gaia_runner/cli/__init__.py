"""The `gaia` command line: the only place that prints usage or exits."""

import os
import signal
import sys


def take_sigint() -> None:
    """SIGINT stops `gaia up` from its first line, like once it runs. A shell script's
    `gaia up &` (no job control) starts it with SIGINT ignored, which Python keeps: until
    gaia's own handlers replaced that, a SIGINT during start-up was silently lost."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> None:
    # `gaia up` is the long-lived process: it parses its own flags and never imports
    # typer. Every other command imports the typer app, and only its own module.
    argv = sys.argv[1:]
    try:
        if argv[:1] == ["up"]:
            take_sigint()
        if os.geteuid() == 0:
            _refuse_untrusted_install()
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


__all__ = ["main", "take_sigint"]
