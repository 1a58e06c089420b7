"""The `gaia` command line: the only place that prints usage or exits."""


def main() -> None:
    # The entry point imports the typer app only when called, so importing any
    # gaia_runner.cli module never pulls in every command group.
    from gaia_runner.cli.app import main as run

    run()


__all__ = ["main"]
