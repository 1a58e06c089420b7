"""Reading gaia.toml into typed, validated, frozen settings.

The names below are imported on first use, not with the package: a server process
imports one small module of it (apptarget, in every uvicorn worker), and importing the
whole validator there cost each of those processes ~40 ms of its start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gaia_runner.config.errors import ConfigError, ConfigIssue
    from gaia_runner.config.load import (
        LoadedConfig,
        find_config_path,
        load_config,
        parse_config_text,
    )
    from gaia_runner.config.model import AppConfig, GaiaConfig

_MODULE_OF = {
    "AppConfig": "model",
    "ConfigError": "errors",
    "ConfigIssue": "errors",
    "GaiaConfig": "model",
    "LoadedConfig": "load",
    "find_config_path": "load",
    "load_config": "load",
    "parse_config_text": "load",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value  # looked up once
    return value


__all__ = [
    "AppConfig",
    "ConfigError",
    "ConfigIssue",
    "GaiaConfig",
    "LoadedConfig",
    "find_config_path",
    "load_config",
    "parse_config_text",
]
