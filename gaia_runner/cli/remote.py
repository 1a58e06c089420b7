"""How the operating commands reach a running gaia: its state dir, found without
validating gaia.toml (see which_gaia.py), and one request over the control socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaia_runner import control
from gaia_runner.cli.options import (
    EXIT_CONFIG,
    EXIT_NO_GAIA,
    EXIT_OTHER_GAIA,
    EXIT_REFUSED,
    NO_GAIA,
    fail,
)
from gaia_runner.cli.which_gaia import config_path_leniently, state_dir_in_use
from gaia_runner.control import control_path
from gaia_runner.statedir import StateDirError, check_private_dir


def running_state_dir(config: Path | None) -> Path:
    """The state dir of the gaia for this config; exits 1 if there is none."""
    path = config_path_leniently(config)
    state_dir = state_dir_in_use(path)
    if not state_dir.is_dir():
        raise fail(f"{NO_GAIA} ({path}: no state dir {state_dir})", EXIT_NO_GAIA)
    try:
        check_private_dir(state_dir)
    except StateDirError as exc:
        raise fail(f"error: unsafe state_dir: {exc}", EXIT_CONFIG) from None
    return state_dir


def ask(config: Path | None, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    state_dir = running_state_dir(config)
    try:
        return control.request(control_path(state_dir), message, timeout=timeout)
    except control.NotRunning:
        raise fail(f"{NO_GAIA} (nothing answers in {state_dir})", EXIT_NO_GAIA) from None
    except TimeoutError:
        raise fail(f"error: gaia did not answer within {timeout:g}s", EXIT_NO_GAIA) from None
    except control.OtherVersion as exc:
        raise fail(f"error: {exc}", EXIT_OTHER_GAIA) from None
    except control.ControlError as exc:
        raise fail(f"error: {exc}", EXIT_REFUSED) from None
