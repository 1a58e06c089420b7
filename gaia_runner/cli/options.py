"""What every command shares: the config option, loading it, the private state dir, and
the one way a command fails (a message on stderr and an exit code)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gaia_runner.config import ConfigError, find_config_path, load_config
from gaia_runner.config.load import LoadedConfig
from gaia_runner.config.privilege import Account
from gaia_runner.config.units import MAX_DURATION, parse_duration
from gaia_runner.process.launch import short_socket_path
from gaia_runner.statedir import StateDirError, check_private_dir, prepare_state_dir

# Exit codes, documented in docs/gaia-toml.md (Validation); scripts may rely on them.
EXIT_NO_GAIA = 1  # no gaia runs for this config, or it does not answer
EXIT_CONFIG = 2  # gaia.toml is invalid (check, config, up; reload when refused)
EXIT_REFUSED = 3  # gaia answered no: an unknown app name, a bad argument
EXIT_APP_FAILED = 4  # up -d: gaia runs, but an app ended FAILED/FATAL
EXIT_TIMEOUT = 5  # down: gaia did not exit in time
EXIT_OTHER_GAIA = 6  # the running gaia is another version (control protocol): restart it
EXIT_FORCED = 130  # up: a second Ctrl-C killed the apps instead of a graceful stop
NO_GAIA = "error: no gaia running for this config"

CONFIG_HELP = "gaia.toml to use (else $GAIA_CONFIG, else ./gaia.toml)."


def fail(message: str, code: int = EXIT_CONFIG) -> SystemExit:
    """Print ``message`` on stderr; the caller raises the result. SystemExit rather than
    typer's Exit, so `gaia up` (which parses its own flags) fails the same way."""
    print(message, file=sys.stderr)
    return SystemExit(code)


def duration_flag(flag: str, text: str, at_most: float = MAX_DURATION) -> float:
    """Seconds from a flag like `--wait 30` or `--since 10m`: finite, not negative, and
    bounded (nan would make a deadline never pass, 1e300 overflows a datetime)."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise fail(f"error: {flag}: {exc}", EXIT_REFUSED) from None
    if seconds > at_most:
        bound = f"{at_most / 86400:g} days" if at_most > 86400 else f"{at_most:g}s"
        raise fail(f"error: {flag}: must be at most {bound}, got {text!r}", EXIT_REFUSED)
    return seconds


def load(config: Path | None, account: Account | None = None) -> LoadedConfig:
    """`account`: whose privileges the config is checked against (default: gaia's own)."""
    try:
        path = find_config_path(config, os.environ, Path.cwd())
        loaded = load_config(path, account=account)
    except ConfigError as exc:
        raise fail(f"error: invalid configuration\n{exc}") from None
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return loaded


def private_state_dir(loaded: LoadedConfig, create: bool) -> Path:
    """state_dir holds what gaia trusts (pid, sockets, configs it executes): refuse a
    directory another user could write into."""
    state_dir = loaded.config.gaia.state_dir
    try:
        if create:
            prepare_state_dir(state_dir)
        else:
            check_private_dir(state_dir)
        # Per-generation sockets (metrics, probes) of a deep run/ still fall back to
        # $TMPDIR/gaia-UID, which must be ours; gaia's control socket never does.
        short_socket_path(state_dir / "run" / "metrics.sock")
    except (StateDirError, OSError) as exc:
        if not create and isinstance(exc, StateDirError) and not state_dir.exists():
            raise fail(NO_GAIA, 1) from None
        raise fail(f"error: unsafe state_dir: {exc}") from None
    return state_dir
