"""Commands that operate a running gaia over its control socket. None of them needs a
valid gaia.toml: they are for the moment an edit went wrong."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from gaia_runner.cli.flags import ConfigOption
from gaia_runner.cli.options import EXIT_CONFIG, EXIT_REFUSED, fail
from gaia_runner.cli.remote import ask
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.view.status import render_status
from gaia_runner.view.status_json import status_document

AppsArgument = Annotated[
    list[str] | None, typer.Argument(metavar="APP", help="App names (default: all).")
]
# Stopping waits for the apps' graceful stop; its budget is in the config, unread here.
LONG_REQUEST = 600.0


def _once(apps: list[str] | None) -> list[str]:
    """Names are a set: `gaia stop web web` means web, once (order kept)."""
    return list(dict.fromkeys(apps or []))


def _select(snapshot: Snapshot, apps: list[str] | None) -> Snapshot:
    if not apps:
        return snapshot
    known = [app.name for app in snapshot.apps]
    unknown = [name for name in apps if name not in known]
    if unknown:
        raise fail(
            f"error: no app named {', '.join(unknown)} (apps: {', '.join(known)})", EXIT_REFUSED
        )
    return dataclasses.replace(
        snapshot, apps=tuple(app for app in snapshot.apps if app.name in apps)
    )


def status_console() -> Console:
    """On a terminal: its width, hidden columns are named. Piped: wide enough for every
    column, no colour, so scripts and `| less` see the whole table."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=10_000, color_system=None)


def print_status(snapshot: Snapshot, console: Console | None = None) -> None:
    console = console or status_console()
    console.print(render_status(snapshot, full=True))


def status(
    apps: AppsArgument = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document (schema in docs/operations.md).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Show every app: state, pids, workers, URLs, memory, CPU, restarts, generation."""
    answer = ask(config, {"command": "status"})
    snapshot = _select(Snapshot.from_json(answer["snapshot"]), apps)
    if as_json:
        typer.echo(json.dumps(status_document(snapshot), indent=2))
    else:
        print_status(snapshot)


def stop(
    apps: Annotated[
        list[str], typer.Argument(metavar="APP", help="Apps to stop (`gaia down` stops all).")
    ],
    config: ConfigOption = None,
) -> None:
    """Stop apps and keep them stopped (across config reloads) until `gaia start`."""
    # Names are required: a bare `gaia stop` taking every app down is too easy a slip.
    answer = ask(config, {"command": "stop", "apps": _once(apps)}, timeout=LONG_REQUEST)
    typer.echo(f"stopped (by request): {', '.join(answer['stopped']) or 'nothing'}")


def start(apps: AppsArgument = None, config: ConfigOption = None) -> None:
    """Start apps stopped by `gaia stop` (default: all of them)."""
    answer = ask(config, {"command": "start", "apps": _once(apps)})
    typer.echo(f"started: {', '.join(answer['started']) or 'nothing'}")
    if answer["already_running"]:
        typer.echo(f"already running: {', '.join(answer['already_running'])}")


def restart(
    apps: AppsArgument = None,
    skip_prestart: Annotated[
        bool, typer.Option("--skip-prestart", help="Do not run the apps' prestart steps.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Restart apps: serving ones are replaced without downtime; FAILED/FATAL ones start over."""
    message = {"command": "restart", "apps": _once(apps), "skip_prestart": skip_prestart}
    answer = ask(config, message)
    typer.echo(f"restart requested: {', '.join(answer['restarted'])}")


def _worker_count(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise typer.BadParameter(f'expected a number of workers or "auto", got {text!r}') from None


def scale(
    app: Annotated[str, typer.Argument(help="The app to scale.")],
    workers: Annotated[
        str,
        typer.Argument(
            help='Worker processes it should have, or "auto": back to what gaia.toml says '
            "(adaptive workers for `workers = { min, max }`).",
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Change an app's worker count in place; it holds until the file's `workers` changes."""
    count = _worker_count(workers)
    answer = ask(config, {"command": "scale", "apps": [app], "workers": count})
    line = f"{app}: workers {answer['was']} -> {answer['workers']}"
    if answer.get("adaptive"):
        line += f" (adaptive, {answer['adaptive']})"
    elif answer["workers"] != answer["in_file"]:
        line += f" (gaia.toml says {answer['in_file']}; differs until the file's value changes)"
    typer.echo(line)


def reload(config: ConfigOption = None) -> None:
    """Re-read gaia.toml now (as on save) and print the plan, or why it was not applied."""
    answer = ask(config, {"command": "reload"}, timeout=LONG_REQUEST)
    if not answer["applied"]:
        raise fail(f"error: not applied, apps unchanged\n{answer['errors']}", EXIT_CONFIG)
    typer.echo("applied: " + "; ".join(answer["plan"]))
