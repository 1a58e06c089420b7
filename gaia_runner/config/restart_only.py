"""[gaia] settings a running gaia cannot change: an edit to one is refused whole."""

from __future__ import annotations

from gaia_runner.config.errors import ConfigError, ConfigIssue
from gaia_runner.config.load import LoadedConfig
from gaia_runner.config.model import GaiaConfig
from gaia_runner.config.settings import RESTART_ONLY


def check_live_edit(running: GaiaConfig, edited: LoadedConfig) -> None:
    """Raise ConfigError if ``edited`` changes a setting only a restart can apply."""
    issues = [
        ConfigIssue(
            edited.config.source,
            edited.lines.line_of(("gaia", key)),
            f"gaia.{key}",
            f"cannot change while gaia runs: restart gaia to change {key}",
        )
        for key in RESTART_ONLY
        if getattr(running.gaia, key) != getattr(edited.config.gaia, key)
    ]
    if issues:
        raise ConfigError(issues)
