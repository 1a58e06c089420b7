"""Reading gaia.toml into typed, validated, frozen settings."""

from gaia_runner.config.errors import ConfigError, ConfigIssue
from gaia_runner.config.load import LoadedConfig, find_config_path, load_config, parse_config_text
from gaia_runner.config.model import AppConfig, GaiaConfig

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
