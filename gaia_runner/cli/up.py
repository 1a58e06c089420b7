"""`gaia up`: the one long-running command.

It parses its own flags with argparse instead of typer: typer builds a pydantic
adapter for every parameter it parses, and whatever `gaia up` imports stays in
memory for as long as the apps run and delays the first spawn (issue 13).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from gaia_runner.cli.options import (
    CONFIG_HELP,
    EXIT_FORCED,
    duration_flag,
    fail,
    load,
    private_state_dir,
)
from gaia_runner.desired import StartupError
from gaia_runner.discover import running_for
from gaia_runner.pidfile import AlreadyRunning, pid_file, pid_record, running_gaia
from gaia_runner.runner import Runner
from gaia_runner.statedir import StateDirError
from gaia_runner.view.display import Display, make_display
from gaia_runner.view.events import QuietDisplay, Timestamped

HELP = "Validate gaia.toml, run prestart steps, start and supervise every app."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gaia up", description=HELP)
    p.add_argument("apps", nargs="*", metavar="APP", help="Start only these apps.")
    p.add_argument("-c", "--config", type=Path, help=CONFIG_HELP)
    p.add_argument(
        "--dev",
        action="store_true",
        help="Reload apps when their code changes; one worker each.",
    )
    p.add_argument(
        "--no-tui", action="store_true", help="Plain prefixed lines, even on a terminal."
    )
    p.add_argument("--no-watch", action="store_true", help="Do not apply gaia.toml edits on save.")
    p.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="Run in the background; return once every app is up or failed.",
    )
    p.add_argument(
        "--timestamps", action="store_true", help="Start every line on screen with its time."
    )
    p.add_argument(
        "--wait",
        default="300",
        help='With -d: how long to wait for the apps to settle, e.g. "90s" (default: 300).',
    )
    p.add_argument("--detached-child", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str]) -> None:
    args = parser().parse_args(argv)
    wait = duration_flag("--wait", args.wait)  # checked first: a typo must not start gaia
    loaded = load(args.config)
    source = loaded.config.source
    switched = sorted(n for n, a in loaded.config.apps.items() if a.user is not None)
    if args.dev and os.geteuid() == 0 and switched:
        # The code watch walks each app's directory as gaia's user: as root, through any
        # link the app's user plants there, it would report on root's own files.
        raise fail(
            f"error: --dev as root with apps that run as another user ({', '.join(switched)}); "
            "run dev mode as that user, without `user` in gaia.toml"
        )
    if not args.detached_child:
        # Fast answers only; the lock taken below is what guarantees one gaia.
        named = loaded.config.gaia.state_dir
        if (other := running_gaia(pid_file(named))) is not None:
            raise fail(f"error: {AlreadyRunning(named, other)}")
        if (found := running_for(source)) is not None:
            raise fail(
                f"error: gaia is already running for {source} (pid {found.record.pid}, "
                f"state_dir {found.state_dir}); `gaia down` stops it"
            )
    state_dir = private_state_dir(loaded, create=True)
    if args.detach:
        forwarded = ["-c", str(source), *args.apps]
        forwarded += [
            flag for flag, on in (("--dev", args.dev), ("--no-watch", args.no_watch)) if on
        ]
        from gaia_runner.cli import lifecycle

        lifecycle.detach(state_dir, forwarded, wait)
        return
    display: Display = (
        QuietDisplay()
        if args.detached_child
        else make_display("plain" if args.no_tui else "auto", logs=str(state_dir / "logs"))
    )
    if args.timestamps:
        display = Timestamped(display)
    try:
        # Before anything touches the state dir's sockets, pid file or logs.
        with pid_record(state_dir, source):
            runner = Runner(
                loaded.config,
                display,
                only=args.apps,
                dev=args.dev,
                watch_config=not args.no_watch,
            )
            asyncio.run(runner.run())
    except AlreadyRunning as exc:
        raise fail(f"error: {exc}") from None
    except StateDirError as exc:
        raise fail(f"error: unsafe state_dir: {exc}") from None
    except StartupError as exc:
        raise fail(f"error: nothing started\n{exc}") from None
    if runner.forced:
        raise SystemExit(EXIT_FORCED)
